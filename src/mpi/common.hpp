// Internals of spbmm_mpi: checked MPI calls, agreement on errors across ranks, MPI datatypes.
#pragma once

#include <mpi.h>

#include <climits>
#include <cstdint>
#include <exception>
#include <string>

#include "spbmm/error.hpp"
#include "spbmm/mpi.hpp"

namespace spbmm::mpi::detail {

// Throws MpiError naming `call` when `code` is not MPI_SUCCESS. The library's own communicators
// return errors (MPI_ERRORS_RETURN) instead of aborting the job.
void check(int code, const char* call);

// A duplicate of the caller's communicator that returns errors; freed on destruction (unless MPI
// has been finalized already).
class OwnedComm {
 public:
  OwnedComm() = default;
  explicit OwnedComm(MPI_Comm comm);
  ~OwnedComm();
  OwnedComm(OwnedComm&& o) noexcept : comm_(o.comm_) { o.comm_ = MPI_COMM_NULL; }
  OwnedComm& operator=(OwnedComm&& o) noexcept;
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;
  // Takes ownership of a communicator the library created.
  static OwnedComm adopt(MPI_Comm comm);

  MPI_Comm get() const noexcept { return comm_; }
  int rank() const;
  int size() const;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// Runs body() on every rank, then agrees: when it threw on any rank, every rank throws the same
// error (class and message of the lowest failing rank). Collective.
template <class F>
void collectively(MPI_Comm comm, F&& body);

template <class T>
MPI_Datatype datatype();
template <>
inline MPI_Datatype datatype<float>() {
  return MPI_FLOAT;
}
template <>
inline MPI_Datatype datatype<double>() {
  return MPI_DOUBLE;
}

// A count for an MPI call: LimitError when it does not fit an int.
int to_count(std::int64_t count, const char* what);

template <class F>
void collectively(MPI_Comm comm, F&& body) {
  std::exception_ptr error;
  try {
    body();
  } catch (...) {
    error = std::current_exception();
  }
  ::spbmm::mpi::agree(comm, error);
}

}  // namespace spbmm::mpi::detail
