// Checked MPI calls, owned communicators and agreement on errors across ranks.
#include "mpi/common.hpp"

#include <exception>
#include <new>
#include <string>
#include <vector>

namespace spbmm::mpi::detail {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw MpiError(std::string(call) + " failed: " +
                 (length > 0 ? std::string(text, static_cast<std::size_t>(length))
                             : "error code " + std::to_string(code)));
}

OwnedComm::OwnedComm(MPI_Comm comm) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized == 0) throw InvalidArgument("spbmm::mpi: MPI is not initialized (call MPI_Init)");
  if (comm == MPI_COMM_NULL) throw InvalidArgument("spbmm::mpi: the communicator is MPI_COMM_NULL");
  check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

OwnedComm OwnedComm::adopt(MPI_Comm comm) {
  OwnedComm owned;
  owned.comm_ = comm;
  if (comm != MPI_COMM_NULL) {
    check(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  }
  return owned;
}

OwnedComm::~OwnedComm() {
  if (comm_ == MPI_COMM_NULL) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized == 0) MPI_Comm_free(&comm_);
}

OwnedComm& OwnedComm::operator=(OwnedComm&& o) noexcept {
  if (this != &o) {
    OwnedComm dying(std::move(*this));
    comm_ = o.comm_;
    o.comm_ = MPI_COMM_NULL;
  }
  return *this;
}

int OwnedComm::rank() const {
  int r = 0;
  check(MPI_Comm_rank(comm_, &r), "MPI_Comm_rank");
  return r;
}

int OwnedComm::size() const {
  int s = 0;
  check(MPI_Comm_size(comm_, &s), "MPI_Comm_size");
  return s;
}

int to_count(std::int64_t count, const char* what) {
  if (count < 0 || count > INT_MAX) {
    throw LimitError(std::string("spbmm::mpi: ") + what + " of " + std::to_string(count) +
                     " elements exceeds the largest MPI count (" + std::to_string(INT_MAX) + ")");
  }
  return static_cast<int>(count);
}

namespace {

// The error classes that travel between ranks.
enum class Kind : std::int32_t {
  Error,
  Shape,
  Format,
  Parse,
  NotCompiled,
  Device,
  InvalidArgument,
  Limit,
  Io,
  Mpi
};

struct Described {
  Kind kind = Kind::Error;
  std::string message;
  std::string file;  // ParseError only
  std::int64_t line = 0;
};

Described describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const ParseError& e) {
    return {Kind::Parse, e.what(), e.file(), e.line()};
  } catch (const ShapeError& e) {
    return {Kind::Shape, e.what(), "", 0};
  } catch (const FormatError& e) {
    return {Kind::Format, e.what(), "", 0};
  } catch (const NotCompiled& e) {
    return {Kind::NotCompiled, e.what(), "", 0};
  } catch (const DeviceError& e) {
    return {Kind::Device, e.what(), "", 0};
  } catch (const InvalidArgument& e) {
    return {Kind::InvalidArgument, e.what(), "", 0};
  } catch (const LimitError& e) {
    return {Kind::Limit, e.what(), "", 0};
  } catch (const IoError& e) {
    return {Kind::Io, e.what(), "", 0};
  } catch (const MpiError& e) {
    return {Kind::Mpi, e.what(), "", 0};
  } catch (const std::bad_alloc&) {
    return {Kind::Limit, "spbmm::mpi: out of memory", "", 0};
  } catch (const std::exception& e) {
    return {Kind::Error, e.what(), "", 0};
  } catch (...) {
    return {Kind::Error, "spbmm::mpi: unknown exception", "", 0};
  }
}

[[noreturn]] void raise(const Described& d) {
  switch (d.kind) {
    case Kind::Parse: {
      // ParseError prefixes "file:line: "; rebuild it from its parts so the text is unchanged.
      const std::string prefix = d.file + ":" + std::to_string(d.line) + ": ";
      const std::string problem =
          d.message.rfind(prefix, 0) == 0 ? d.message.substr(prefix.size()) : d.message;
      throw ParseError(d.file, d.line, problem);
    }
    case Kind::Shape:
      throw ShapeError(d.message);
    case Kind::Format:
      throw FormatError(d.message);
    case Kind::NotCompiled:
      throw NotCompiled(d.message);
    case Kind::Device:
      throw DeviceError(d.message);
    case Kind::InvalidArgument:
      throw InvalidArgument(d.message);
    case Kind::Limit:
      throw LimitError(d.message);
    case Kind::Io:
      throw IoError(d.message);
    case Kind::Mpi:
      throw MpiError(d.message);
    case Kind::Error:
      break;
  }
  throw Error(d.message);
}

void broadcast_string(MPI_Comm comm, std::string& s, int root) {
  std::int64_t size = static_cast<std::int64_t>(s.size());
  check(MPI_Bcast(&size, 1, MPI_INT64_T, root, comm), "MPI_Bcast");
  s.resize(static_cast<std::size_t>(size));
  if (size > 0) {
    check(MPI_Bcast(s.data(), to_count(size, "an error message"), MPI_CHAR, root, comm),
          "MPI_Bcast");
  }
}

}  // namespace

}  // namespace spbmm::mpi::detail

namespace spbmm::mpi {

using detail::check;

void agree(MPI_Comm comm, std::exception_ptr error) {
  int rank = 0, size = 0;
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  const int mine = error ? rank : size;
  int first = size;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  if (first == size) return;
  detail::Described d;
  if (rank == first) d = detail::describe(error);
  std::int64_t head[2] = {static_cast<std::int64_t>(d.kind), d.line};
  check(MPI_Bcast(head, 2, MPI_INT64_T, first, comm), "MPI_Bcast");
  d.kind = static_cast<detail::Kind>(head[0]);
  d.line = head[1];
  detail::broadcast_string(comm, d.message, first);
  detail::broadcast_string(comm, d.file, first);
  detail::raise(d);
}

}  // namespace spbmm::mpi
