// Asking several servers at once: a decision waits for the slowest of them, not for the sum.
#pragma once

#include <future>
#include <type_traits>
#include <vector>

namespace guardd::mysql {

/// Calls `ask(item)` for every item, each on its own thread when there are several, and
/// returns the answers in the items' order. Each call must bound its own waits (every
/// connection has its deadline); an exception of one is rethrown here after all ended.
template <typename Item, typename Ask>
auto in_parallel(const std::vector<Item>& items, Ask ask)
    -> std::vector<std::invoke_result_t<Ask&, const Item&>> {
  using Answer = std::invoke_result_t<Ask&, const Item&>;
  std::vector<Answer> answers;
  answers.reserve(items.size());
  if (items.size() == 1) {  // no thread for a lone ask
    answers.push_back(ask(items.front()));
    return answers;
  }
  std::vector<std::future<Answer>> pending;
  pending.reserve(items.size());
  for (const Item& item : items)
    pending.push_back(std::async(std::launch::async, [&ask, &item] { return ask(item); }));
  for (auto& p : pending) p.wait();  // every thread ended before anything is rethrown
  for (auto& p : pending) answers.push_back(p.get());
  return answers;
}

}  // namespace guardd::mysql
