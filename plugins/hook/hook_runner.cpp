#include "plugins/hook/hook_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "plugins/hook/hook_orphans.h"

namespace guardd::hook {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kProgramFd = 3;  // where the hook finds its own file (first after stdio)

// Closes the descriptors it owns, whatever path the run takes.
struct Fds {
  int in = -1, out = -1, err = -1;
  int exited = -1;  // a pidfd: readable once the hook has exited
  ~Fds() {
    for (int fd : {in, out, err, exited})
      if (fd >= 0) close(fd);
  }
};

// Reads what is available from fd into sink (up to the cap; the rest is discarded).
// Returns false at EOF or error.
bool drain(int fd, std::string& sink, bool& truncated) {
  char buf[16384];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n > 0) {
    std::size_t room = kOutputCap > sink.size() ? kOutputCap - sink.size() : 0;
    std::size_t take = std::min(room, static_cast<std::size_t>(n));
    sink.append(buf, take);
    if (take < static_cast<std::size_t>(n)) truncated = true;
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  return false;
}

}  // namespace

Result<HookRun> run_hook(int program_fd, const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env, const std::string& input,
                         Clock::time_point deadline) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return Error{fmt::format("pipe: {}", std::strerror(errno))};
  Fds parent;
  Fds child;
  parent.in = in_pipe[1];
  child.in = in_pipe[0];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Error{fmt::format("pipe: {}", std::strerror(errno))};
  parent.out = out_pipe[0];
  child.out = out_pipe[1];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Error{fmt::format("pipe: {}", std::strerror(errno))};
  parent.err = err_pipe[0];
  child.err = err_pipe[1];

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child.in, 0);
  posix_spawn_file_actions_adddup2(&actions, child.out, 1);
  posix_spawn_file_actions_adddup2(&actions, child.err, 2);
  // The checked file, as fd 3 and open across exec: run by descriptor it cannot be
  // swapped after the check, and a script's interpreter reads it as /proc/self/fd/3.
  posix_spawn_file_actions_adddup2(&actions, program_fd, kProgramFd);
  // Nothing else of guardd's: not a descriptor it inherited without close-on-exec, nor one
  // a library opened so (a client connection the hook could speak on as guardd).
  posix_spawn_file_actions_addclosefrom_np(&actions, kProgramFd + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so the deadline kills everything it started; default signal
  // dispositions and an empty mask, whatever guardd's threads have blocked.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const std::string by_descriptor = fmt::format("/proc/self/fd/{}", kProgramFd);
  // Known as a running hook before any sweep can see it (see HookOrphans).
  HookOrphans& orphans = HookOrphans::of_this_process();
  int rc = 0;
  orphans.start([&] {
    rc = posix_spawn(&pid, by_descriptor.c_str(), &actions, &attr, args.data(), envp.data());
    return rc == 0 ? pid : -1;
  });
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error{fmt::format("cannot run {}: {}", argv[0], std::strerror(rc))};
  // The child's ends belong to the child now.
  close(child.in);
  close(child.out);
  close(child.err);
  child.in = child.out = child.err = -1;
  // The hook's exit wakes the poll below at once. The pid cannot be reused before we reap
  // it, so opening it now is safe. Kernels before 5.3 lack pidfd_open: short polls instead.
  parent.exited = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  for (int fd : {parent.in, parent.out, parent.err})
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  HookRun run;
  std::size_t written = 0;
  if (input.empty()) {
    close(parent.in);
    parent.in = -1;
  }
  int status = 0;
  bool exited = false;
  while (!exited) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd fds[4];
    int n = 0;
    if (parent.out >= 0) fds[n++] = {parent.out, POLLIN, 0};
    if (parent.err >= 0) fds[n++] = {parent.err, POLLIN, 0};
    if (parent.in >= 0) fds[n++] = {parent.in, POLLOUT, 0};
    if (parent.exited >= 0) fds[n++] = {parent.exited, POLLIN, 0};
    // The hook's exit is noticed by waitpid (woken by the pidfd), not by EOF, since a
    // background child may keep the pipes open. Without a pidfd, poll in short steps.
    const long step = parent.exited >= 0 ? left.count() : std::min<long>(left.count(), 10);
    poll(fds, static_cast<nfds_t>(n), static_cast<int>(step));
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents || fds[i].fd == parent.exited) continue;
      int fd = fds[i].fd;
      if (fd == parent.in) {
        ssize_t w = write(fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if ((w < 0 && errno != EAGAIN) || written == input.size()) {
          close(parent.in);  // EPIPE (the hook ignores stdin) or all written
          parent.in = -1;
        }
      } else if (fd == parent.out && !drain(fd, run.out, run.truncated)) {
        close(parent.out);
        parent.out = -1;
      } else if (fd == parent.err && !drain(fd, run.err, run.truncated)) {
        close(parent.err);
        parent.err = -1;
      }
    }
  }
  // Whatever is left in the pipes was written before the hook exited.
  for (int* fd : {&parent.out, &parent.err}) {
    if (*fd < 0) continue;
    std::string& sink = *fd == parent.out ? run.out : run.err;
    for (int i = 0; i < 64 && drain(*fd, sink, run.truncated); ++i) {
      pollfd p{*fd, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0) break;
    }
  }
  kill(-pid, SIGKILL);  // the hook's group: stragglers and, at the deadline, the hook itself
  if (!exited) waitpid(pid, &status, 0);
  // What left the group (setsid) and was orphaned came to guardd, the subreaper: gone too.
  orphans.ended(pid);
  orphans.sweep();
  if (!exited) {
    run.timed_out = true;
    return run;
  }
  if (WIFEXITED(status))
    run.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    run.signal = WTERMSIG(status);
  return run;
}

}  // namespace guardd::hook
