// Matrix Market reader on the shared data sets: real matrices and the conformance edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

namespace fs = std::filesystem;

// The shared data folder, or "" (the test then skips) when the build has no data_dir.
std::string data_root() { return test::data_dir(); }

#define SPBMM_NEED_DATA()                                                                     \
  do {                                                                                        \
    if (data_root().empty()) {                                                                \
      GTEST_SKIP() << "SPBMM_DATA_DIR is empty: configure with -Ddata_dir=../shared/data to " \
                      "run the real-data tests";                                              \
    }                                                                                         \
  } while (0)

std::set<std::string> mtx_names(const std::string& dir) {
  std::set<std::string> s;
  for (const auto& p : list_matrix_market_files(dir)) s.insert(fs::path(p).filename().string());
  return s;
}

struct ConfOk {
  const char* file;
  std::int64_t rows, cols, nnz;
};
struct ConfBad {
  const char* file;
  std::int64_t line;
};

// Conformance files that must read: shape and COO nnz (symmetry expanded, duplicates kept).
const std::vector<ConfOk> kConformanceOk = {
    {"fmm_2col_array.mtx", 3, 2, 6},
    {"fmm_eye3.mtx", 3, 3, 3},
    {"fmm_eye3_array.mtx", 3, 3, 3},
    {"fmm_eye3_pattern.mtx", 3, 3, 3},
    {"fmm_eye3_str.mtx", 3, 3, 3},
    {"fmm_graphblas_matrix_bool.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_double.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_float.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_int16.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_int32.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_int64.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_int8.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_uint16.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_uint32.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_uint64.mtx", 3, 1, 4},
    {"fmm_graphblas_matrix_uint8.mtx", 3, 1, 4},
    {"fmm_kepner_gilbert_graph.mtx", 7, 7, 12},
    {"fmm_nist_ex1.mtx", 5, 5, 8},
    {"fmm_nist_ex1_freeformat.mtx", 5, 5, 8},
    {"fmm_nist_ex1_more_freeformat.mtx", 5, 5, 8},
    {"fmm_overflow_index_gt_int8.mtx", 1000, 1000, 1},
    {"fmm_overflow_value_gt_int32.mtx", 3, 3, 1},
    {"fmm_overflow_value_gt_int64.mtx", 3, 3, 3},
    {"fmm_permissive_banner_leading_spaces_eye3.mtx", 3, 3, 3},
    {"fmm_permissive_banner_one_percent_eye3.mtx", 3, 3, 3},
    {"fmm_permissive_lines_indented.mtx", 1, 1, 1},
    {"fmm_permissive_windows_lineendings_nist_ex1_more_freeformat.mtx", 5, 5, 8},
    {"fmm_row_3by4.mtx", 3, 4, 4},
    {"fmm_symarray_skew-symmetric.mtx", 3, 3, 6},
    {"fmm_symarray_skew-symmetric_general.mtx", 3, 3, 6},
    {"fmm_symarray_symmetric.mtx", 3, 3, 9},
    {"fmm_symarray_symmetric_general.mtx", 3, 3, 9},
    {"fmm_symcoord_hermitian_real_row.mtx", 3, 3, 5},  // real hermitian reads as symmetric
    {"fmm_symcoord_hermitian_real_row_general.mtx", 3, 3, 5},
    {"fmm_symcoord_hermitian_real_row_general_dup.mtx", 3, 3, 6},
    {"fmm_symcoord_hermitian_real_row_general_zero.mtx", 3, 3, 6},
    {"fmm_symcoord_pattern_symmetric_row.mtx", 3, 3, 4},
    {"fmm_symcoord_pattern_symmetric_row_general.mtx", 3, 3, 4},
    {"fmm_symcoord_pattern_symmetric_row_general_dup.mtx", 3, 3, 4},
    {"fmm_symcoord_pattern_symmetric_row_general_zero.mtx", 3, 3, 4},
    {"fmm_symcoord_skew_symmetric_row.mtx", 3, 3, 4},
    {"fmm_symcoord_skew_symmetric_row_general.mtx", 3, 3, 4},
    {"fmm_symcoord_skew_symmetric_row_general_dup.mtx", 3, 3, 4},
    {"fmm_symcoord_skew_symmetric_row_general_zero.mtx", 3, 3, 4},
    {"fmm_symcoord_symmetric_row.mtx", 3, 3, 5},
    {"fmm_symcoord_symmetric_row_general.mtx", 3, 3, 5},
    {"fmm_symcoord_symmetric_row_general_dup.mtx", 3, 3, 6},
    {"fmm_symcoord_symmetric_row_general_zero.mtx", 3, 3, 6},
    {"fmmpy_eye3.mtx", 3, 3, 3},
    {"fmmpy_matrix_array_integer_general.mtx", 3, 2, 6},
    {"fmmpy_matrix_array_real_general.mtx", 3, 2, 6},
    {"fmmpy_matrix_coordinate_integer_general.mtx", 3, 3, 3},
    {"fmmpy_matrix_coordinate_pattern_general.mtx", 3, 3, 3},
    {"fmmpy_matrix_coordinate_pattern_symmetric.mtx", 3, 3, 5},
    {"fmmpy_matrix_coordinate_real_general.mtx", 3, 3, 3},
    {"fmmpy_matrix_coordinate_real_symmetric.mtx", 3, 3, 5},
    {"fmmpy_misc_windows_newlines.mtx", 3, 3, 3},
    {"fmmpy_scipy_crashes_dim_over_32_bit.mtx", 1099511627776, 1099511627776, 3},
    {"ginkgo_A_integer_symmetric.mtx", 19, 19, 147},
    {"ginkgo_b_array_vector.mtx", 19, 1, 19},
    {"ginkgo_isai_a_excess_rhs.mtx", 122, 1, 2},
    {"lagraph_LFAT5_hypersparse.mtx", 2000, 2000, 46},
    {"lagraph_comments_cover.mtx", 7, 7, 12},
    {"lagraph_comments_full.mtx", 3, 3, 9},
    {"lagraph_comments_west0067.mtx", 67, 67, 295},
    {"lagraph_cover.mtx", 7, 7, 12},
    {"lagraph_cover_structure.mtx", 7, 7, 12},
    {"lagraph_empty.mtx", 3, 4, 0},
    {"lagraph_full.mtx", 3, 3, 9},
    {"lagraph_full_symmetric.mtx", 4, 4, 16},
    {"lagraph_ldbc-cdlp-undirected-example.mtx", 8, 8, 24},
    {"lagraph_mangled14.mtx", 3, 4, 3},
    {"lagraph_mangled_bool.mtx", 7, 7, 12},
    {"lagraph_mangled_int16.mtx", 7, 7, 12},
    {"lagraph_mangled_int32.mtx", 7, 7, 12},
    {"lagraph_mangled_int8.mtx", 7, 7, 12},
    {"lagraph_mangled_skew.mtx", 6, 6, 20},
    {"lagraph_mangled_uint16.mtx", 7, 7, 12},
    {"lagraph_mangled_uint32.mtx", 7, 7, 12},
    {"lagraph_mangled_uint8.mtx", 7, 7, 12},
    {"lagraph_matrix_bool.mtx", 7, 7, 12},
    {"lagraph_matrix_fp32_structure.mtx", 7, 7, 12},
    {"lagraph_matrix_int16.mtx", 7, 7, 12},
    {"lagraph_matrix_int32.mtx", 7, 7, 12},
    {"lagraph_matrix_int64.mtx", 7, 7, 12},
    {"lagraph_matrix_int8.mtx", 7, 7, 12},
    {"lagraph_matrix_uint16.mtx", 7, 7, 12},
    {"lagraph_matrix_uint32.mtx", 7, 7, 12},
    {"lagraph_matrix_uint64.mtx", 7, 7, 12},
    {"lagraph_matrix_uint8.mtx", 7, 7, 12},
    {"lagraph_skew_fp32.mtx", 6, 6, 20},
    {"lagraph_skew_fp64.mtx", 6, 6, 20},
    {"lagraph_skew_int16.mtx", 6, 6, 20},
    {"lagraph_skew_int32.mtx", 6, 6, 20},
    {"lagraph_skew_int64.mtx", 6, 6, 20},
    {"lagraph_skew_int8.mtx", 6, 6, 20},
    {"lagraph_sources_7.mtx", 64, 1, 64},
    {"lagraph_tree-example.mtx", 6, 6, 10},
    {"lagraph_west0067_jumbled.mtx", 67, 67, 294},
    {"sprs_complex_hermitian-int.mtx", 2, 2, 3},  // integer hermitian reads as symmetric
    {"sprs_pattern.mtx", 4, 4, 4},
    {"sprs_simple.mtx", 5, 5, 8},
    {"sprs_simple_int.mtx", 5, 5, 8},
    {"sprs_symmetric.mtx", 5, 5, 8},
    {"ss_cholmod_3by0.mtx", 3, 0, 0},
    {"ss_cholmod_fullrsa.mtx", 2, 2, 4},
    {"ss_cholmod_fullrza.mtx", 2, 2, 2},
    {"ss_cholmod_rza.mtx", 3, 3, 6},
    {"ss_klu_one.mtx", 2, 2, 4},
    {"ss_klu_two.mtx", 2, 2, 1},
    {"ss_mongoose_Trec4.mtx", 2, 3, 3},
    {"ss_paru_Tina_AskCal_perm.mtx", 11, 11, 29},
    {"ss_spqr_a0.mtx", 0, 0, 0},
    {"ss_spqr_a00.mtx", 0, 0, 0},
    {"ss_spqr_a01.mtx", 0, 1, 0},
    {"ss_spqr_a04.mtx", 0, 4, 0},
    {"ss_spqr_a10.mtx", 1, 0, 0},
    {"tfdp_EVA.mtx", 8497, 8497, 13450},
    {"tfdp_USPowerGrid.mtx", 4941, 4941, 13188},
};

// Conformance files that must be rejected with ParseError, and the line it names.
const std::vector<ConfBad> kConformanceBad = {
    {"cugraph_karate_str.mtx", 1},
    {"fmm_eye3_complex.mtx", 1},
    {"fmm_graphblas_matrix_double_complex.mtx", 1},
    {"fmm_graphblas_matrix_float_complex.mtx", 1},
    {"fmm_invalid_bad_banner.mtx", 1},
    {"fmm_invalid_bad_banner_2.mtx", 1},
    {"fmm_invalid_bad_field.mtx", 1},
    {"fmm_invalid_bad_format.mtx", 1},
    {"fmm_invalid_bad_object.mtx", 1},
    {"fmm_invalid_bad_symmetry.mtx", 1},
    {"fmm_invalid_bad_value.mtx", 3},
    {"fmm_invalid_bad_value_2.mtx", 1},
    {"fmm_invalid_bad_value_3.mtx", 1},
    {"fmm_invalid_bad_value_4.mtx", 1},
    {"fmm_invalid_dimensions_out_of_range_1.mtx", 3},
    {"fmm_invalid_dimensions_out_of_range_2.mtx", 3},
    {"fmm_invalid_dimensions_out_of_range_3.mtx", 3},
    {"fmm_invalid_indices_out_of_range_1.mtx", 5},
    {"fmm_invalid_indices_out_of_range_2.mtx", 6},
    {"fmm_invalid_indices_out_of_range_3.mtx", 5},
    {"fmm_invalid_indices_out_of_range_4.mtx", 6},
    {"fmm_invalid_indices_out_of_range_5.mtx", 5},
    {"fmm_invalid_indices_out_of_range_6.mtx", 6},
    {"fmm_invalid_matrix_coord_too_long.mtx", 7},
    {"fmm_invalid_symmetry_vector.mtx", 1},
    {"fmm_invalid_truncated_header_1.mtx", 2},
    {"fmm_invalid_truncated_header_2.mtx", 1},
    {"fmm_invalid_truncated_line_1.mtx", 2},
    {"fmm_invalid_truncated_line_2.mtx", 2},
    {"fmm_invalid_truncated_lines.mtx", 2},
    {"fmm_invalid_vector_array_too_long.mtx", 1},
    {"fmm_invalid_vector_coord_too_long.mtx", 1},
    {"fmm_invalid_vector_index_out_of_range_1.mtx", 1},
    {"fmm_invalid_vector_index_out_of_range_2.mtx", 1},
    {"fmm_invalid_vector_negative_length.mtx", 1},
    {"fmm_overflow_dim_gt_int64.mtx", 2},
    {"fmm_overflow_index_gt_int64.mtx", 6},
    {"fmm_overflow_value_gt_complex128.mtx", 1},
    {"fmm_overflow_value_gt_float128.mtx", 4},
    {"fmm_overflow_value_gt_float64.mtx", 4},
    {"fmm_symarray_hermitian.mtx", 1},
    {"fmm_symarray_hermitian_general.mtx", 1},
    {"fmm_symcoord_hermitian_row.mtx", 1},
    {"fmm_symcoord_hermitian_row_general.mtx", 1},
    {"fmm_symcoord_hermitian_row_general_dup.mtx", 1},
    {"fmm_symcoord_hermitian_row_general_zero.mtx", 1},
    {"fmm_vector_array.mtx", 1},
    {"fmm_vector_coordinate.mtx", 1},
    {"fmm_vector_coordinate_complex.mtx", 1},
    {"fmm_vector_coordinate_complex_dupes.mtx", 1},
    {"fmm_vector_coordinate_dupes.mtx", 1},
    {"fmmpy_long_double_longcomplex_array.mtx", 1},
    {"fmmpy_long_double_longcomplex_coordinate.mtx", 1},
    {"fmmpy_long_double_longdouble_array.mtx", 4},
    {"fmmpy_long_double_longdouble_coordinate.mtx", 4},
    {"fmmpy_matrix_array_complex_general.mtx", 1},
    {"fmmpy_matrix_coordinate_complex_general.mtx", 1},
    {"fmmpy_matrix_coordinate_complex_hermitian.mtx", 1},
    {"fmmpy_matrix_coordinate_real_skew-symmetric.mtx", 6},
    {"fmmpy_scipy_crashes_vector_array_real_general.mtx", 1},
    {"fmmpy_scipy_crashes_vector_coordinate_real_general.mtx", 1},
    {"lagraph_complex.mtx", 1},
    {"lagraph_full_noheader.mtx", 1},
    {"lagraph_mangled1.mtx", 1},
    {"lagraph_mangled10.mtx", 6},
    {"lagraph_mangled11.mtx", 5},
    {"lagraph_mangled12.mtx", 5},
    {"lagraph_mangled13.mtx", 7},
    {"lagraph_mangled15.mtx", 5},
    {"lagraph_mangled16.mtx", 5},
    {"lagraph_mangled2.mtx", 1},
    {"lagraph_mangled3.mtx", 1},
    {"lagraph_mangled4.mtx", 1},
    {"lagraph_mangled5.mtx", 5},  // hermitian pattern is read; its entry has 4 numbers
    {"lagraph_mangled6.mtx", 5},  // hermitian real is read; its entry has 4 numbers
    {"lagraph_mangled7.mtx", 5},
    {"lagraph_mangled8.mtx", 4},
    {"lagraph_mangled9.mtx", 4},
    {"lagraph_mangled_format.mtx", 1},
    {"lagraph_matrix_fp32.mtx", 7},
    {"lagraph_matrix_fp64.mtx", 7},
    {"lagraph_west0067_noheader.mtx", 1},
    {"netrepo_ca-Erdos992.mtx", 4},
    {"netrepo_soc-wiki-Vote.mtx", 2917},
    {"sprs_bad_files_not_enough_entries.mtx", 33},
    {"sprs_bad_files_too_many_elems_in_entry.mtx", 5},
    {"sprs_complex_hermitian.mtx", 1},
    {"sprs_complex_simple.mtx", 1},
    {"sprs_complex_skew-symmetric.mtx", 1},
    {"sprs_complex_symmetric.mtx", 1},
    {"ss_cholmod_c.mtx", 1},
    {"ss_cholmod_cha.mtx", 1},
    {"ss_cholmod_fullcrud.mtx", 6},
    {"ss_cholmod_fullcrud1.mtx", 1},
    {"ss_cholmod_fullcrud2.mtx", 3},
    {"ss_cholmod_fullcsa.mtx", 1},
    {"ss_cholmod_mangle1.mtx", 1},
    {"ss_cholmod_mangle2.mtx", 1},
    {"ss_cholmod_mangle3.mtx", 1},
    {"ss_cholmod_mangle4.mtx", 1},
    {"ss_klu_1c.mtx", 1},
    {"ss_klu_arrowc.mtx", 1},
    {"ss_klu_ctina.mtx", 1},
    {"ss_klu_onec.mtx", 1},
    {"ss_mongoose_bad_dimensions.mtx", 3},
    {"ss_mongoose_bad_header.mtx", 1},
    {"ss_mongoose_bad_matrix_type.mtx", 1},
    {"ss_paru_row0.mtx", 12},
};
// real/ files with complex values: rejected. Every other real/ file must read.
const std::set<std::string> kRealComplex = {"GD99_cc.mtx", "w156.mtx", "young1c.mtx"};

// Value at (i, j) of canonical CSR, or nullptr.
template <class T, class I>
const T* find(const CsrMatrix<T, I>& m, std::int64_t i, std::int64_t j) {
  const auto& rp = m.row_ptr();
  const auto& ci = m.col_idx();
  const auto b = ci.begin() + rp[static_cast<std::size_t>(i)];
  const auto e = ci.begin() + rp[static_cast<std::size_t>(i) + 1];
  const auto it = std::lower_bound(b, e, static_cast<I>(j));
  return (it != e && *it == j) ? &m.values()[static_cast<std::size_t>(it - ci.begin())] : nullptr;
}

TEST(MmRealData, EveryFileReadsAndAgreesWithItsHeader) {
  SPBMM_NEED_DATA();
  const std::string dir = data_root() + "/real";
  const auto files = list_matrix_market_files(dir);
  ASSERT_EQ(files.size(), 64u) << "expected the 64 files of " << dir;
  MmReadOptions stored;
  stored.expand_symmetry = false;
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    const std::string name = fs::path(path).filename().string();
    const MatrixMarketHeader h = read_matrix_market_header(path);
    if (kRealComplex.count(name)) {
      EXPECT_EQ(h.field, MmField::Complex);
      SPBMM_EXPECT_THROW_MSG((read_matrix_market_csr<double, std::int32_t>(path)), ParseError,
                             "complex values are not supported");
      continue;
    }
    const auto as_stored = read_matrix_market_coo<double, std::int32_t>(path, stored);
    EXPECT_EQ(as_stored.rows(), h.rows);
    EXPECT_EQ(as_stored.cols(), h.cols);
    EXPECT_EQ(as_stored.nnz(), h.nnz);
    std::int64_t offdiag = 0;
    for (std::size_t k = 0; k < as_stored.row_idx().size(); ++k) {
      offdiag += as_stored.row_idx()[k] != as_stored.col_idx()[k] ? 1 : 0;
    }
    const auto coo = read_matrix_market_coo<double, std::int32_t>(path);
    const bool sym = h.symmetry != MmSymmetry::General;
    EXPECT_EQ(coo.nnz(), h.nnz + (sym ? offdiag : 0));
    const auto csr = read_matrix_market_csr<double, std::int32_t>(path);
    EXPECT_EQ(csr.rows(), h.rows);
    EXPECT_EQ(csr.cols(), h.cols);
    EXPECT_EQ(csr.nnz(), coo.nnz());  // no duplicates in these files
    if (sym) {
      // Stored as one triangle, expanded to a symmetric (or skew-symmetric) matrix.
      const double sign = h.symmetry == MmSymmetry::SkewSymmetric ? -1.0 : 1.0;
      std::int64_t bad = 0;
      for (std::int64_t i = 0; i < csr.rows(); ++i) {
        for (auto k = csr.row_ptr()[static_cast<std::size_t>(i)];
             k < csr.row_ptr()[static_cast<std::size_t>(i) + 1]; ++k) {
          const std::int64_t j = csr.col_idx()[static_cast<std::size_t>(k)];
          const double* m = find(csr, j, i);
          if (!m || *m != sign * csr.values()[static_cast<std::size_t>(k)]) ++bad;
        }
      }
      EXPECT_EQ(bad, 0) << "entries without their mirror";
    }
    if (h.field == MmField::Pattern) {
      EXPECT_TRUE(
          std::all_of(csr.values().begin(), csr.values().end(), [](double v) { return v == 1.0; }));
    }
  }
}

TEST(MmRealData, NetworkRepositoryBannerIsAccepted) {
  SPBMM_NEED_DATA();
  const std::string path = data_root() + "/real/ca-CondMat.mtx";
  const auto h = read_matrix_market_header(path);
  EXPECT_EQ(h.banner, "%MatrixMarket matrix coordinate pattern symmetric");
  EXPECT_EQ(h.field, MmField::Pattern);
  EXPECT_EQ(h.symmetry, MmSymmetry::Symmetric);
  const auto m = read_matrix_market_csr<float, std::int64_t>(path);
  EXPECT_EQ(m.rows(), 21363);
  EXPECT_EQ(m.nnz(), 2 * 91286);  // no self loops
}

TEST(MmRealData, DirectoryLoadsAsOneRaggedBatch) {
  SPBMM_NEED_DATA();
  // The conformance folder mixes good and bad files: the batch fails naming the first bad one.
  const auto files = list_matrix_market_files(data_root() + "/conformance");
  ASSERT_FALSE(files.empty());
  try {
    (void)read_matrix_market_csr_dir<double, std::int64_t>(data_root() + "/conformance");
    ADD_FAILURE() << "expected ParseError";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file(), data_root() + "/conformance/cugraph_karate_str.mtx");
  }
  // A batch of real files: shapes and nnz as read one by one.
  std::vector<std::string> some;
  for (const char* f : {"karate.mtx", "west0067.mtx", "lp_afiro.mtx", "ash219.mtx"}) {
    some.push_back(data_root() + "/real/" + f);
  }
  const auto batch = read_matrix_market_csr_batch<float, std::int32_t>(some);
  ASSERT_EQ(batch.size(), some.size());
  for (std::size_t i = 0; i < some.size(); ++i) {
    const auto one = read_matrix_market_csr<float, std::int32_t>(some[i]);
    EXPECT_EQ(batch.rows(i), one.rows());
    EXPECT_EQ(batch.cols(i), one.cols());
    EXPECT_EQ(batch.nnz(i), one.nnz());
  }
}

TEST(MmConformance, ExpectationTableCoversEveryFile) {
  SPBMM_NEED_DATA();
  std::set<std::string> listed;
  for (const auto& c : kConformanceOk) listed.insert(c.file);
  for (const auto& c : kConformanceBad) listed.insert(c.file);
  EXPECT_EQ(listed.size(), kConformanceOk.size() + kConformanceBad.size())
      << "a file is listed twice";
  EXPECT_EQ(listed, mtx_names(data_root() + "/conformance"));
}

TEST(MmConformance, GoodFilesRead) {
  SPBMM_NEED_DATA();
  for (const auto& c : kConformanceOk) {
    const std::string path = data_root() + "/conformance/" + c.file;
    SCOPED_TRACE(path);
    try {
      const auto m = read_matrix_market_coo<double, std::int64_t>(path);
      EXPECT_EQ(m.rows(), c.rows);
      EXPECT_EQ(m.cols(), c.cols);
      EXPECT_EQ(m.nnz(), c.nnz);
      if (c.rows < 100000000) {
        const auto csr = read_matrix_market_csr<double, std::int64_t>(path);
        EXPECT_LE(csr.nnz(), c.nnz);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(MmConformance, BadFilesAreRejectedWithTheirLine) {
  SPBMM_NEED_DATA();
  for (const auto& c : kConformanceBad) {
    const std::string path = data_root() + "/conformance/" + c.file;
    SCOPED_TRACE(path);
    for (int threads : {1, 2}) {
      MmReadOptions o;
      o.threads = threads;
      try {
        (void)read_matrix_market_coo<double, std::int64_t>(path, o);
        ADD_FAILURE() << "expected ParseError";
      } catch (const ParseError& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_EQ(e.line(), c.line) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "expected ParseError, got: " << e.what();
      }
    }
  }
}

// The reference expansions shipped next to the symmetric files agree with ours.
TEST(MmConformance, SymmetricExpansionMatchesReferenceFiles) {
  SPBMM_NEED_DATA();
  const std::string dir = data_root() + "/conformance/";
  for (const char* base : {"fmm_symcoord_symmetric_row", "fmm_symcoord_skew_symmetric_row",
                           "fmm_symcoord_pattern_symmetric_row", "fmm_symarray_symmetric",
                           "fmm_symarray_skew-symmetric"}) {
    SCOPED_TRACE(base);
    const auto got = read_matrix_market_dense<double>(dir + base + ".mtx");
    const auto want = read_matrix_market_dense<double>(dir + base + "_general.mtx");
    EXPECT_EQ(got.values(), want.values());
  }
}

}  // namespace
}  // namespace spbmm
