// Built into every program of the AddressSanitizer build (GUARDD_SANITIZE) only.
//
// A check that misses its deadline is abandoned by design: its thread is left to finish on
// its own, and guardd may exit while it is still inside MariaDB Connector/C. OpenSSL (which
// the connector initialises on every thread) keeps a per-thread error state that it frees
// from that thread's exit handler; when the thread is exiting just as the process does,
// LeakSanitizer sees the block after its only pointer was dropped and before it was freed,
// and reports a leak that is not one. Seen in CI: MySql.HooksInheritNoDescriptorOfGuardd,
// 904 bytes from CRYPTO_zalloc after a frozen server's checks timed out.
//
// Only leaks whose allocation is inside libcrypto are suppressed; our own code's are not.
extern "C" const char* __lsan_default_suppressions();

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libcrypto.so\n";
}
