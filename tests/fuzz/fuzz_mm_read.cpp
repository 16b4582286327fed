// Fuzz target: the Matrix Market reader on raw file bytes. Each input is written to an in-memory
// file (memfd) and read through the public readers, so the real path (open, mmap, parse) runs;
// one read goes through a pipe, which takes the read() path instead of mmap. The readers must
// either succeed or throw a spbmm::Error, and their results must agree with each other: COO,
// CSR and dense reads of one file describe one matrix, a narrower value or index type fails only
// with a range error, and writing a matrix and reading it back gives it back.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "fuzz_util.hpp"
#include "io/mm_internal.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"

namespace {

using spbmm::fuzz::fail;
using spbmm::fuzz::same_value;

// An in-memory file, reachable by path as /proc/self/fd/N.
class MemFile {
 public:
  explicit MemFile(const char* name) {
    fd_ = ::memfd_create(name, MFD_CLOEXEC);
    if (fd_ < 0) fail("memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  void set(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0) fail("ftruncate failed");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) fail("pwrite failed");
      done += static_cast<std::size_t>(n);
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// The read end of a pipe that already holds the whole input, as /proc/self/fd/N.
class PipeFile {
 public:
  PipeFile(const std::uint8_t* data, std::size_t size) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail("pipe2 failed");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fds[1], data + done, size - done);
      if (n <= 0) fail("pipe write failed");
      done += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~PipeFile() { ::close(fd_); }
  PipeFile(const PipeFile&) = delete;
  PipeFile& operator=(const PipeFile&) = delete;
  const std::string& path() const { return path_; }
  // Inputs up to this size fit a pipe's default buffer, so writing them cannot block.
  static constexpr std::size_t kMaxSize = 60000;

 private:
  int fd_ = -1;
  std::string path_;
};

// The result of one read: the value, or the library error it raised. Anything that is not a
// spbmm::Error leaves the function and the fuzzer reports it.
template <class R>
struct Outcome {
  std::optional<R> value;
  bool ran = false;
  bool limit_error = false;  // LimitError: a size beyond the index type or memory
  bool parse_error = false;
  std::string what;
  bool ok() const { return value.has_value(); }
};

template <class F>
auto attempt(F&& f) -> Outcome<decltype(f())> {
  Outcome<decltype(f())> o;
  o.ran = true;
  try {
    o.value.emplace(f());
  } catch (const spbmm::LimitError& e) {
    o.limit_error = true;
    o.what = e.what();
  } catch (const spbmm::ParseError& e) {
    o.parse_error = true;
    o.what = e.what();
  } catch (const spbmm::Error& e) {
    o.what = e.what();
  }
  return o;
}

template <class I>
bool fits(std::int64_t v) {
  return v >= 0 &&
         static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<I>::max());
}

// Element counts a read may allocate without the fuzzer calling it an out-of-memory: a legal but
// huge matrix is not a finding, so such reads are skipped.
constexpr std::int64_t kMaxElements = std::int64_t{1} << 22;

// Whether a CSR read with index I can run: it must fail early (the shape does not fit I, or its
// row pointers cannot exist at all) or its rows + 1 row pointers must be modest.
template <class I>
bool csr_read_allowed(const spbmm::MatrixMarketHeader& h) {
  if (!fits<I>(h.rows) || !fits<I>(h.cols)) return true;
  const auto max_elems =
      static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(I);
  return h.rows < kMaxElements || static_cast<std::uint64_t>(h.rows) + 1 > max_elems;
}

template <class T>
bool dense_read_allowed(const spbmm::MatrixMarketHeader& h) {
  std::int64_t elems = 0;
  if (__builtin_mul_overflow(h.rows, h.cols, &elems)) return true;
  return elems <= kMaxElements ||
         static_cast<std::uint64_t>(elems) > std::numeric_limits<std::size_t>::max() / sizeof(T);
}

template <class T, class I>
void check_coo_shape(const spbmm::CooMatrix<T, I>& m, const spbmm::MatrixMarketHeader& h,
                     const char* what) {
  if (m.rows() != h.rows || m.cols() != h.cols) {
    fail(std::string(what) + ": shape differs from the header");
  }
  spbmm::validate(m.view());  // the constructor validated; this must agree
}

// Same indices; values equal (NaN counts as equal to NaN) when `values` is set.
template <class T1, class I1, class T2, class I2>
void expect_same_coo(const spbmm::CooMatrix<T1, I1>& a, const spbmm::CooMatrix<T2, I2>& b,
                     std::int64_t count, bool values, const char* what) {
  if (a.nnz() < count || b.nnz() < count) fail(std::string(what) + ": too few entries");
  for (std::int64_t k = 0; k < count; ++k) {
    const auto uk = static_cast<std::size_t>(k);
    if (static_cast<std::int64_t>(a.row_idx()[uk]) != static_cast<std::int64_t>(b.row_idx()[uk]) ||
        static_cast<std::int64_t>(a.col_idx()[uk]) != static_cast<std::int64_t>(b.col_idx()[uk])) {
      fail(std::string(what) + ": indices differ at position " + std::to_string(k));
    }
    if (values &&
        !same_value(static_cast<double>(a.values()[uk]), static_cast<double>(b.values()[uk]))) {
      fail(std::string(what) + ": values differ at position " + std::to_string(k));
    }
  }
}

template <class T1, class I1, class T2, class I2>
void expect_same_csr_pattern(const spbmm::CsrMatrix<T1, I1>& a, const spbmm::CsrMatrix<T2, I2>& b,
                             const char* what) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.nnz() != b.nnz()) {
    fail(std::string(what) + ": shape or nnz differ");
  }
  for (std::size_t i = 0; i < a.row_ptr().size(); ++i) {
    if (static_cast<std::int64_t>(a.row_ptr()[i]) != static_cast<std::int64_t>(b.row_ptr()[i])) {
      fail(std::string(what) + ": row_ptr differs");
    }
  }
  for (std::size_t k = 0; k < a.col_idx().size(); ++k) {
    if (static_cast<std::int64_t>(a.col_idx()[k]) != static_cast<std::int64_t>(b.col_idx()[k])) {
      fail(std::string(what) + ": col_idx differs");
    }
  }
}

template <class T>
void expect_same_dense(const spbmm::DenseMatrix<T>& a, const spbmm::DenseMatrix<T>& b,
                       const char* what) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) fail(std::string(what) + ": shape differs");
  if (a.rows() == 0 || a.cols() == 0) return;  // the other dimension may be 2^62
  for (std::int64_t i = 0; i < a.rows(); ++i) {
    for (std::int64_t j = 0; j < a.cols(); ++j) {
      if (!same_value(a(i, j), b(i, j))) {
        fail(std::string(what) + ": element (" + std::to_string(i) + ", " + std::to_string(j) +
             ") differs");
      }
    }
  }
}

// Every read must fail when the header does.
template <class R>
void expect_failed(const Outcome<R>& o, const char* what) {
  if (o.ok()) fail(std::string(what) + " succeeded although the header is invalid");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace spbmm;
  static MemFile file("spbmm-fuzz-mm");
  static MemFile out("spbmm-fuzz-mm-out");
  file.set(data, size);
  const std::string& path = file.path();

  // The header parser on an exact-size copy of the bytes, so that an over-read is caught.
  {
    std::vector<char> exact(data, data + size);
    const auto direct = attempt([&] { return mm_detail::parse_header("mem", exact.data(), size); });
    // Bare-CR files are converted by the file reader first; elsewhere both must agree.
    if (std::memchr(data, '\r', size) == nullptr) {
      const auto via_file = attempt([&] { return read_matrix_market_header(path); });
      if (direct.ok() != via_file.ok()) fail("parse_header and read_matrix_market_header disagree");
      if (direct.ok() && (direct.value->info.rows != via_file.value->rows ||
                          direct.value->info.cols != via_file.value->cols ||
                          direct.value->info.nnz != via_file.value->nnz)) {
        fail("parse_header and read_matrix_market_header disagree on the size line");
      }
    }
  }

  const auto header = attempt([&] { return read_matrix_market_header(path); });
  MmReadOptions expand, stored;
  stored.expand_symmetry = false;

  auto coo_a = attempt([&] { return read_matrix_market_coo<double, std::int64_t>(path, expand); });
  auto coo_b = attempt([&] { return read_matrix_market_coo<double, std::int64_t>(path, stored); });
  Outcome<CooMatrix<float, std::int32_t>> coo_c;
  if (size <= PipeFile::kMaxSize) {
    PipeFile pipe(data, size);
    coo_c =
        attempt([&] { return read_matrix_market_coo<float, std::int32_t>(pipe.path(), stored); });
  } else {
    coo_c = attempt([&] { return read_matrix_market_coo<float, std::int32_t>(path, stored); });
  }

  if (!header.ok()) {
    expect_failed(coo_a, "COO read");
    expect_failed(coo_b, "COO read (stored)");
    expect_failed(coo_c, "COO read (float, int32)");
    // The other readers share the header parser; exercise them on the bad header anyway.
    (void)attempt([&] { return read_matrix_market_csr<double, std::int64_t>(path, expand); });
    (void)attempt([&] { return read_matrix_market_dense<double>(path, Layout::RowMajor, expand); });
    return 0;
  }
  const MatrixMarketHeader& h = *header.value;

  Outcome<CsrMatrix<double, std::int64_t>> csr_d;
  Outcome<CsrMatrix<float, std::int32_t>> csr_e;
  Outcome<DenseMatrix<double>> dense_f;
  Outcome<DenseMatrix<float>> dense_g;
  if (csr_read_allowed<std::int64_t>(h)) {
    csr_d = attempt([&] { return read_matrix_market_csr<double, std::int64_t>(path, expand); });
  }
  if (csr_read_allowed<std::int32_t>(h)) {
    csr_e = attempt([&] { return read_matrix_market_csr<float, std::int32_t>(path, stored); });
  }
  if (dense_read_allowed<double>(h)) {
    dense_f =
        attempt([&] { return read_matrix_market_dense<double>(path, Layout::RowMajor, expand); });
  }
  if (dense_read_allowed<float>(h)) {
    dense_g =
        attempt([&] { return read_matrix_market_dense<float>(path, Layout::ColMajor, stored); });
  }

  if (h.field == MmField::Complex) {
    if (coo_a.ok() || coo_b.ok() || coo_c.ok() || csr_d.ok() || csr_e.ok() || dense_f.ok() ||
        dense_g.ok()) {
      fail("a complex file was read");
    }
    return 0;
  }

  // Expanding symmetry cannot fail with 64-bit indices where the stored read succeeds.
  if (coo_a.ok() != coo_b.ok())
    fail("COO read with and without expansion disagree: " + coo_a.what + coo_b.what);
  if (coo_c.ok() && !coo_b.ok())
    fail("the float/int32 COO read succeeded where double/int64 failed");
  if (csr_d.ok() && !coo_a.ok()) fail("the CSR read succeeded where the COO read failed");
  if (csr_e.ok() && !coo_b.ok())
    fail("the float/int32 CSR read succeeded where the COO read failed");
  if (dense_f.ok() && !coo_a.ok()) fail("the dense read succeeded where the COO read failed");
  if (dense_g.ok() && !coo_b.ok()) fail("the float dense read succeeded where the COO read failed");
  if (!coo_a.ok()) return 0;

  const CooMatrix<double, std::int64_t>& a = *coo_a.value;
  const CooMatrix<double, std::int64_t>& b = *coo_b.value;
  check_coo_shape(a, h, "COO read");
  check_coo_shape(b, h, "COO read (stored)");
  const bool symmetric = h.symmetry != MmSymmetry::General;
  if (h.format == MmFormat::Coordinate) {
    if (b.nnz() != h.nnz)
      fail("the stored COO read has " + std::to_string(b.nnz()) + " entries, the header says " +
           std::to_string(h.nnz));
    // The expanded read is the stored entries followed by the mirrors of the off-diagonal ones.
    expect_same_coo(a, b, b.nnz(), true, "expanded vs stored COO");
    std::int64_t offdiag = 0;
    for (std::int64_t k = 0; k < b.nnz(); ++k) {
      offdiag +=
          b.row_idx()[static_cast<std::size_t>(k)] != b.col_idx()[static_cast<std::size_t>(k)];
    }
    if (a.nnz() != b.nnz() + (symmetric ? offdiag : 0))
      fail("the expanded COO read has the wrong number of entries");
  } else if (!symmetric) {
    expect_same_coo(a, b, a.nnz(), true, "array COO with and without expansion");
    if (a.nnz() != b.nnz()) fail("a general array file reads differently with expansion");
  }

  if (coo_c.ok()) {
    // The same entries; values may round differently when parsed straight to float. Array files
    // keep only nonzero values, and a double subnormal is 0 in float, so only coordinate files
    // must keep every entry.
    check_coo_shape(*coo_c.value, h, "COO read (float, int32)");
    if (h.format == MmFormat::Coordinate) {
      if (coo_c.value->nnz() != b.nnz()) {
        fail("float/int32 and double/int64 COO reads differ in nnz");
      }
      expect_same_coo(*coo_c.value, b, b.nnz(), false, "float/int32 vs double/int64 COO");
    }
  } else if (!coo_c.limit_error && !coo_c.parse_error) {
    fail("the float/int32 COO read failed with an unexpected error: " + coo_c.what);
  }

  if (csr_d.ran) {
    if (!csr_d.ok() && !csr_d.limit_error)
      fail("the CSR read failed where the COO read succeeded: " + csr_d.what);
    if (csr_d.ok()) {
      const CsrMatrix<double, std::int64_t> want = to_csr(a.view());
      expect_same_csr_pattern(*csr_d.value, want, "CSR read vs to_csr(COO read)");
      if (want.nnz() == a.nnz()) {  // no duplicates summed: values must match exactly
        for (std::size_t k = 0; k < want.values().size(); ++k) {
          if (!same_value(want.values()[k], csr_d.value->values()[k]))
            fail("CSR read vs to_csr(COO read): values differ");
        }
      }
    }
  }
  if (csr_e.ran) {
    if (!csr_e.ok() && !csr_e.limit_error && !csr_e.parse_error)
      fail("the float/int32 CSR read failed unexpectedly: " + csr_e.what);
    if (csr_e.ok() && h.format == MmFormat::Coordinate) {  // as for the float COO read
      expect_same_csr_pattern(*csr_e.value, to_csr(b.view()),
                              "float/int32 CSR read vs to_csr(COO read)");
    }
  }
  if (dense_f.ran && dense_read_allowed<double>(h)) {
    if (!dense_f.ok() && !dense_f.limit_error)
      fail("the dense read failed where the COO read succeeded: " + dense_f.what);
    if (dense_f.ok())
      expect_same_dense(*dense_f.value, to_dense(a.view(), Layout::RowMajor),
                        "dense read vs to_dense(COO read)");
  }
  if (dense_g.ran) {
    if (!dense_g.ok() && !dense_g.limit_error && !dense_g.parse_error)
      fail("the float dense read failed unexpectedly: " + dense_g.what);
    if (dense_g.ok() && (dense_g.value->rows() != h.rows || dense_g.value->cols() != h.cols))
      fail("float dense read: wrong shape");
  }

  // Writing the matrix and reading it back gives the same triplets.
  write_matrix_market(out.path(), a.view());
  const auto back = read_matrix_market_coo<double, std::int64_t>(out.path());
  if (back.rows() != a.rows() || back.cols() != a.cols() || back.nnz() != a.nnz())
    fail("write/read round trip: shape or nnz differ");
  expect_same_coo(back, a, a.nnz(), true, "write/read round trip");
  return 0;
}
