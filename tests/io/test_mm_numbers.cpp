// The reader's fast number paths against std::from_chars (same bits, same end of token, or a
// refusal that leaves everything untouched), and CSR reads of files already in CSR order against
// the same entries in another order.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "io/mm_numbers.hpp"
#include "spbmm/matrix_market.hpp"

namespace spbmm {
namespace {

using mm_detail::nearest_rounding;
using mm_detail::parse_real_fast;
using mm_detail::parse_small_uint;

// Parses `text` (a token and what follows it) both ways. Returns whether the fast path took it;
// when it did, its value's bits and end must be from_chars'.
bool check_float(const std::string& text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  float want = 0;
  const auto r = std::from_chars(begin, end, want);
  const char* p = begin;
  float got = 12345.0f;
  const bool fast = parse_real_fast(p, end, got, nearest_rounding());
  if (!fast) {
    EXPECT_EQ(p, begin) << text;
    EXPECT_EQ(got, 12345.0f) << text;
    return false;
  }
  EXPECT_EQ(r.ec, std::errc()) << text;
  EXPECT_EQ(std::bit_cast<std::uint32_t>(got), std::bit_cast<std::uint32_t>(want))
      << "'" << text << "': fast " << got << ", from_chars " << want;
  EXPECT_EQ(p, r.ptr) << text;
  return true;
}

// The exact decimal of a double (glibc prints it exactly), without trailing zeros.
std::string exact_decimal(double x) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.200f", x);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

int digit_count(const std::string& s) {
  return static_cast<int>(
      std::count_if(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

TEST(MmNumbers, SmallIntegersAsFromChars) {
  std::mt19937_64 rng(7);
  const char* delims[] = {" ", "\t", "\n", "\r\n", " 5 6", "x"};
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t x = rng() % (std::uint64_t{1} << (rng() % 24));
    const std::string text = std::to_string(x) + delims[i % 6] + "        ";
    const char* p = text.data();
    std::uint64_t v = 99;
    ASSERT_TRUE(parse_small_uint(p, text.data() + text.size(), v)) << text;
    EXPECT_EQ(v, x);
    EXPECT_EQ(p, text.data() + std::to_string(x).size());
  }
  // Eight digits or more, a sign, no digit, or fewer than eight readable bytes: refused,
  // nothing touched.
  for (const std::string text :
       {"12345678 ", "123456789012", "-5      ", "+5      ", " 5      ", "x1234567", "1234567"}) {
    const char* p = text.data();
    std::uint64_t v = 99;
    EXPECT_FALSE(parse_small_uint(p, text.data() + text.size(), v)) << text;
    EXPECT_EQ(p, text.data());
    EXPECT_EQ(v, 99u);
  }
  // Leading zeros and every length from one to seven.
  for (const std::string text : {"0 ", "00 ", "0000007 ", "1234567\n", "7654321"}) {
    std::string padded = text + "        ";
    const char* p = padded.data();
    std::uint64_t v = 99;
    ASSERT_TRUE(parse_small_uint(p, padded.data() + padded.size(), v)) << text;
    std::uint64_t want = 0;
    std::from_chars(padded.data(), padded.data() + padded.size(), want);
    EXPECT_EQ(v, want) << text;
  }
}

TEST(MmNumbers, RandomRealsAsFromChars) {
  if (!nearest_rounding()) GTEST_SKIP() << "this thread does not round to nearest";
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> mant(1.0, 10.0);
  const char* formats[] = {"%.17g", "%.9g", "%.6g", "%.12e", "%.16f", "%.3f", "%.19g"};
  const char* tails[] = {"", " ", "\n", "\r\n", "\t7"};
  int taken = 0, total = 0;
  for (int i = 0; i < 200000; ++i) {
    const int e10 = static_cast<int>(rng() % 41) - 20;
    double x = mant(rng) * std::pow(10.0, e10);
    if (rng() % 2) x = -x;
    char buf[128];
    std::snprintf(buf, sizeof buf, formats[i % 7], x);
    const std::string text = std::string(buf) + tails[i % 5] + "          ";
    taken += check_float(text) ? 1 : 0;
    ++total;
  }
  // The common forms take the fast path; the rest (over 19 digits, a wide exponent) refuse.
  EXPECT_GT(taken, total / 2) << taken << " of " << total;
}

TEST(MmNumbers, HalfwayBetweenFloatsAsFromChars) {
  if (!nearest_rounding()) GTEST_SKIP() << "this thread does not round to nearest";
  std::mt19937_64 rng(13);
  int exact = 0;
  for (int i = 0; i < 20000; ++i) {
    // A float f in [2^k, 2^(k+1)) and the point halfway to the next one; its exact decimal has
    // few digits when k is not far below 23.
    const int k = 4 + static_cast<int>(rng() % 40);
    const auto f = std::ldexp(
        static_cast<float>(1.0 + static_cast<double>(rng() % (1u << 23)) / (1u << 23)), k);
    const double half = (static_cast<double>(f) + static_cast<double>(std::nextafter(
                                                      f, std::numeric_limits<float>::infinity()))) /
                        2;
    const std::string m = exact_decimal(half);
    if (digit_count(m) > 19) continue;
    ++exact;
    check_float(m + " ");
    // Just above and just below halfway, where a double result may round onto it.
    if (digit_count(m) <= 17) {
      const std::string frac = m.find('.') == std::string::npos ? m + "." : m;
      const int room = 19 - digit_count(frac);
      check_float(frac + std::string(static_cast<std::size_t>(room - 1), '0') + "1 ");
      // The double below halfway, cut to 19 digits: still below it, within the fast path's
      // reach, and so close to halfway that it must refuse it or agree with from_chars.
      const std::string down = exact_decimal(std::nextafter(half, 0.0));
      std::string below;
      for (std::size_t i = 0, digits = 0; i < down.size() && digits < 19; ++i) {
        below += down[i];
        if (down[i] >= '0' && down[i] <= '9') ++digits;
      }
      check_float(below + " ");
    }
  }
  EXPECT_GT(exact, 1000);
  // Integers halfway between floats: 2^24 + 1 rounds to even, 2^24 + 3 up.
  for (const std::string text : {"16777217 ", "16777219 ", "-16777217 ", "8388608.5 ", "8388609.5 ",
                                 "16777217.0000000001 ", "16777216.9999999999 "}) {
    check_float(text);
  }
}

TEST(MmNumbers, FormsAndRefusals) {
  if (!nearest_rounding()) GTEST_SKIP() << "this thread does not round to nearest";
  for (const std::string text : {"0 ",
                                 "-0 ",
                                 "0.0 ",
                                 "-0.000 ",
                                 "1. ",
                                 ".5 ",
                                 "-.5e-3 ",
                                 "1e5 ",
                                 "1E+05 ",
                                 "2.5e-7 ",
                                 "123456789012345678 ",
                                 "1234567890123456789 ",
                                 "3.4028234e38 ",
                                 "1.17549435e-38 ",
                                 "1.0e-45 ",
                                 "9e-50 ",
                                 "1e39 ",
                                 "inf ",
                                 "nan ",
                                 "0x1p3 ",
                                 "1e ",
                                 "1e+ ",
                                 "- ",
                                 ". ",
                                 "00000000000000000001.5 ",
                                 "12345678901234567890 ",
                                 "1e99999 ",
                                 "5",
                                 "1.5"}) {
    check_float(text);
  }
  // A value, then more of the entry: the fast path stops at the token's end.
  const std::string text = "0.25 7\n";
  const char* p = text.data();
  float v = 0;
  ASSERT_TRUE(parse_real_fast(p, text.data() + text.size(), v, true));
  EXPECT_EQ(v, 0.25f);
  EXPECT_EQ(p, text.data() + 4);
  // Not for double, and not when the thread does not round to nearest.
  double d = 0;
  p = text.data();
  EXPECT_FALSE(parse_real_fast(p, text.data() + text.size(), d, true));
  EXPECT_FALSE(parse_real_fast(p, text.data() + text.size(), v, false));
}

// A file of `entries` (1-based row, column, value) lines, in the given order.
std::string coordinate_file(std::int64_t rows, std::int64_t cols,
                            const std::vector<std::tuple<int, int, double>>& entries) {
  std::string s = "%%MatrixMarket matrix coordinate real general\n" + std::to_string(rows) + " " +
                  std::to_string(cols) + " " + std::to_string(entries.size()) + "\n";
  char buf[96];
  for (const auto& [r, c, v] : entries) {
    std::snprintf(buf, sizeof buf, "%d %d %.17g\n", r, c, v);
    s += buf;
  }
  return s;
}

TEST(MmNumbers, FilesInCsrOrderReadAsAnyOther) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "spbmm_mm_numbers_csr_order";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(5);
  // Empty rows at the start, in the middle and at the end; enough lines for several chunks.
  const int rows = 9000, cols = 700;
  std::vector<std::tuple<int, int, double>> sorted;
  for (int r = 3; r <= rows - 5; ++r) {
    if (r % 97 == 0) continue;
    for (int c = 1 + static_cast<int>(rng() % 5); c <= cols;
         c += 1 + static_cast<int>(rng() % 150)) {
      sorted.emplace_back(r, c, std::uniform_real_distribution<double>(-1, 1)(rng));
    }
  }
  // The same entries shuffled, and in order but with a duplicate every 1000 entries (wherever
  // the chunks are cut, each pair is seen within one or across two).
  auto shuffled = sorted;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::vector<std::tuple<int, int, double>> dups;
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    dups.push_back(sorted[k]);
    if (k % 1000 == 999) dups.emplace_back(std::get<0>(sorted[k]), std::get<1>(sorted[k]), 0.5);
  }
  const auto write = [&](const std::string& name,
                         const std::vector<std::tuple<int, int, double>>& e) {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << coordinate_file(rows, cols, e);
    return path;
  };
  const std::string in_order = write("sorted.mtx", sorted);
  const std::string any_order = write("shuffled.mtx", shuffled);
  const std::string with_dups = write("dups.mtx", dups);
  ASSERT_GT(std::filesystem::file_size(in_order), std::uintmax_t{1} << 18);
  for (const int threads : {1, 2}) {
    MmReadOptions o;
    o.threads = threads;
    const auto a = read_matrix_market_csr<float, std::int32_t>(in_order, o);
    const auto b = read_matrix_market_csr<float, std::int32_t>(any_order, o);
    EXPECT_EQ(a.row_ptr(), b.row_ptr());
    EXPECT_EQ(a.col_idx(), b.col_idx());
    EXPECT_EQ(a.values(), b.values());
    EXPECT_EQ(a.nnz(), static_cast<std::int64_t>(sorted.size()));
    // Duplicates summed: same pattern, every 1000th value plus 0.5.
    const auto d = read_matrix_market_csr<double, std::int64_t>(with_dups, o);
    const auto a64 = read_matrix_market_csr<double, std::int64_t>(in_order, o);
    ASSERT_EQ(d.nnz(), a64.nnz());
    EXPECT_EQ(d.row_ptr(), a64.row_ptr());
    EXPECT_EQ(d.col_idx(), a64.col_idx());
    int changed = 0;
    for (std::size_t k = 0; k < a64.values().size(); ++k) {
      if (d.values()[k] != a64.values()[k]) {
        ++changed;
        EXPECT_EQ(d.values()[k], a64.values()[k] + 0.5);
      }
    }
    EXPECT_EQ(changed, static_cast<int>(sorted.size() / 1000));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spbmm
