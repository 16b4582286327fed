// Tests of schedule(): the order of a batch's products and which of them run alone.
#include "dispatch/schedule.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace spbmm::dispatch {
namespace {

using Order = std::vector<std::size_t>;

TEST(Schedule, EmptyBatch) {
  const Schedule s = schedule({}, 2);
  EXPECT_TRUE(s.alone.empty());
  EXPECT_TRUE(s.loop.empty());
}

TEST(Schedule, LargestFirstAndTiesKeepTheirOrder) {
  const Schedule s =
      schedule({{0, 1e-6, true}, {1, 5e-6, true}, {2, 1e-6, true}, {3, 3e-6, false}}, 2);
  EXPECT_TRUE(s.alone.empty());
  EXPECT_EQ(s.loop, (Order{1, 3, 0, 2}));
}

TEST(Schedule, AStragglerRunsAloneWithEveryThread) {
  // 10 ms against 1 ms in all for the rest: one thread would idle through most of the batch.
  const Schedule s = schedule({{0, 1e-4, true}, {1, 1e-2, true}, {2, 9e-4, true}}, 2);
  EXPECT_EQ(s.alone, (Order{1}));
  EXPECT_EQ(s.loop, (Order{2, 0}));
}

TEST(Schedule, OnlyKernelsWithThreadsOfTheirOwnRunAlone) {
  const Schedule s = schedule({{0, 1e-4, true}, {1, 1e-2, false}}, 2);
  EXPECT_TRUE(s.alone.empty());
  EXPECT_EQ(s.loop, (Order{1, 0}));
}

TEST(Schedule, ShortEntriesNeverSplit) {
  // Alone in the batch but below the split threshold: the fork/join would cost more.
  const Schedule s = schedule({{0, 1e-5, true}}, 2, 2e-4);
  EXPECT_TRUE(s.alone.empty());
  EXPECT_EQ(s.loop, (Order{0}));
  EXPECT_EQ(schedule({{0, 1e-3, true}}, 2, 2e-4).alone, (Order{0}));
}

TEST(Schedule, BalancedBatchesShareTheThreads) {
  // Four equal entries on two threads: each is a quarter of the work, none outweighs half a
  // thread's share.
  const Schedule s =
      schedule({{0, 1e-3, true}, {1, 1e-3, true}, {2, 1e-3, true}, {3, 1e-3, true}}, 2);
  EXPECT_TRUE(s.alone.empty());
  EXPECT_EQ(s.loop.size(), 4u);
}

TEST(Schedule, OneThreadLoopsOverEverything) {
  const Schedule s = schedule({{0, 1e-4, true}, {1, 1e-2, true}}, 1);
  EXPECT_TRUE(s.alone.empty());
  EXPECT_EQ(s.loop, (Order{1, 0}));
}

}  // namespace
}  // namespace spbmm::dispatch
