// The io.guardd.Guard methods: one table of handlers, each with the privilege it needs.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/varlink_message.h"
#include "daemon/access.h"
#include "daemon/audit_store.h"
#include "daemon/policy.h"
#include "daemon/worker_pool.h"

namespace guardd {

/// A reply to send: parameters, or an error name with its parameters.
struct Reply {
  std::string error;  // empty for success
  nlohmann::json parameters = nlohmann::json::object();
};

/// Holds the policy in force; reloads swap it atomically.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const Policy> p) : policy_(std::move(p)) {}
  /// The policy in force now.
  std::shared_ptr<const Policy> get() const {
    std::lock_guard lock(mutex_);
    return policy_;
  }
  /// Replaces the policy; requests already running keep the old one.
  void set(std::shared_ptr<const Policy> p) {
    std::lock_guard lock(mutex_);
    policy_ = std::move(p);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Policy> policy_;
};

/// Answers calls. Thread-safe: each call runs on a worker of its own; checks run on
/// `workers`.
class Service {
 public:
  Service(std::shared_ptr<AuditStore> store, PolicyHolder& policy, WorkerPool& workers);

  /// Answers one call from `caller`; never throws (a bug becomes InternalError).
  Reply handle(const VarlinkCall& call, const Caller& caller);

  /// Answers a call that could not be run at all (`why`: no worker thread could be
  /// started) with InternalError; a Check is recorded as refused first, so even this
  /// answer has its record.
  Reply refuse_unrun(const VarlinkCall& call, const Caller& caller, const std::string& why);

  /// Decides `request` for a caller that did not ask over the socket (logind firing a
  /// scheduled shutdown) and records it; the error says why it could not be recorded, in
  /// which case it counts as refused.
  Result<Decision> decide_unasked(const CheckRequest& request, const Caller& caller);
  /// Whether `request` would be refused now; evaluates without recording anything.
  bool would_refuse(const CheckRequest& request, const Caller& caller);
  /// Starts deleting decisions past the retention period, on a worker, if an hour has
  /// passed since the last run.
  void prune_if_due();

  /// Called on a worker thread after every recorded decision (with it; after its reply
  /// was sent, see AnnounceAfterReply) and every hold change (with nullptr).
  void on_change(std::function<void(const Decision*)> callback) {
    on_change_ = std::move(callback);
  }

  /// While one lives on a thread, decisions recorded there are announced (journal entry,
  /// log line, on_change) when it ends rather than at once: the server ends it after the
  /// reply is sent, so the caller, whose decision is already durable, does not wait for
  /// them. Without one, announcements are made as each decision is recorded.
  class AnnounceAfterReply {
   public:
    explicit AnnounceAfterReply(Service& service);
    ~AnnounceAfterReply();
    AnnounceAfterReply(const AnnounceAfterReply&) = delete;
    AnnounceAfterReply& operator=(const AnnounceAfterReply&) = delete;

   private:
    Service& service_;
    std::vector<Decision> pending_;
    std::vector<Decision>* outer_;
  };

 private:
  struct Method {
    std::string_view name;  // fully qualified
    Privilege privilege;
    Reply (Service::*handler)(const nlohmann::json& params, const Caller& caller,
                              const Policy& policy);
  };
  static const Method kMethods[];

  Reply dispatch(const VarlinkCall& call, const Caller& caller);
  Reply get_info(const nlohmann::json&, const Caller&, const Policy&);
  Reply get_interface_description(const nlohmann::json&, const Caller&, const Policy&);
  Reply check(const nlohmann::json&, const Caller&, const Policy&);
  Reply list_decisions(const nlohmann::json&, const Caller&, const Policy&);
  Reply get_status(const nlohmann::json&, const Caller&, const Policy&);
  Reply place_hold(const nlohmann::json&, const Caller&, const Policy&);
  Reply release_hold(const nlohmann::json&, const Caller&, const Policy&);
  Reply list_datadirs(const nlohmann::json&, const Caller&, const Policy&);
  Reply retire_datadir(const nlohmann::json&, const Caller&, const Policy&);

  /// Records a rejected request (verdict denied, invalid, or refused when it could not
  /// be run) and returns the error reply.
  Reply reject(Decision decision, Verdict verdict, std::string_view error,
               const std::string& message);
  /// The decision to record for a call rejected before its handler ran: the caller, and
  /// the operation, target and reason asked for (a Check) or else the method's `member`
  /// name.
  static Decision rejected_call(const VarlinkCall& call, const std::string& member,
                                const Caller& caller);
  /// Runs `request`'s checks for `d` (its caller set), decides, and commits: the one
  /// decision core of Check and decide_unasked; error when not recorded.
  Result<int64_t> decide_and_commit(Decision& d, const CheckRequest& request, const Policy& policy,
                                    std::chrono::steady_clock::time_point started);
  /// Asks `policy`'s hold check again for `d` (a hold was placed while it was decided)
  /// and puts its fresh result in place of the old one.
  void recheck_holds(Decision& d, const CheckRequest& request, const Policy& policy);
  /// Stamps time, host and version, records, and announces (now, or after the reply);
  /// error when not recorded.
  Result<int64_t> commit(Decision& decision);
  /// As commit(), unless a hold was placed after `holds_seen`: then nothing is recorded
  /// and nullopt returned (see AuditStore::record_unless_holds_changed).
  Result<std::optional<int64_t>> commit_unless_holds_changed(Decision& decision,
                                                             uint64_t holds_seen);
  /// Sets what every record carries: its time (if unset), host and version.
  void stamp(Decision& decision) const;
  /// After `decision` was recorded as `id`: announces it and prunes if due.
  void committed(Decision& decision, int64_t id);
  /// Journals (or logs) a recorded decision and tells on_change.
  void announce(const Decision& decision);

  std::shared_ptr<AuditStore> store_;
  PolicyHolder& policy_;
  WorkerPool& workers_;
  std::string hostname_;
  int64_t started_us_;
  bool under_journal_;
  std::function<void(const Decision*)> on_change_;
  std::atomic<int64_t> last_prune_us_{0};
  // What pruning trusts of the wall clock: the newest decision on record at start-up (or
  // the wall clock then, with none), advanced by the monotonic clock since.
  int64_t clock_anchor_us_;
  std::chrono::steady_clock::time_point clock_anchor_at_;
};

/// Microseconds since the Unix epoch.
int64_t now_us();

}  // namespace guardd
