// spbmm's exceptions as Python exceptions: one class per C++ class, each also a subclass of the
// built-in exception a Python caller expects (ValueError, OSError, OverflowError, ...).
#include <Python.h>

#include <string>

#include "common.hpp"

namespace spbmm::python {

namespace {

// The classes live as long as the interpreter: they are module attributes and never destroyed
// from C++ (a static py::object would be released after the interpreter is gone).
struct ErrorTypes {
  PyObject* error = nullptr;
  PyObject* shape = nullptr;
  PyObject* format = nullptr;
  PyObject* parse = nullptr;
  PyObject* invalid = nullptr;
  PyObject* limit = nullptr;
  PyObject* io = nullptr;
  PyObject* device = nullptr;
  PyObject* not_compiled = nullptr;
};
ErrorTypes types;

PyObject* make(py::module_& m, const char* name, const char* doc, py::tuple bases) {
  const std::string qualified = std::string("spbmm.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // the module holds the reference
  return cls;
}

void raise_parse_error(const ParseError& e) {
  // Built as an instance so that the file and line are attributes as well as in the message.
  py::object exc = py::reinterpret_borrow<py::object>(types.parse)(e.what());
  exc.attr("file") = e.file();
  exc.attr("line") = e.line();
  PyErr_SetObject(types.parse, exc.ptr());
}

}  // namespace

void init_errors(py::module_& m) {
  const auto builtin = [](PyObject* cls) { return py::reinterpret_borrow<py::object>(cls); };
  types.error = make(m, "Error", "Base class of every error spbmm raises.",
                     py::make_tuple(builtin(PyExc_Exception)));
  const auto base = builtin(types.error);
  types.shape = make(m, "ShapeError", "Operand shapes do not fit together.",
                     py::make_tuple(base, builtin(PyExc_ValueError)));
  types.format = make(m, "FormatError", "Malformed sparse or dense data.",
                      py::make_tuple(base, builtin(PyExc_ValueError)));
  types.parse = make(m, "ParseError",
                     "Malformed Matrix Market file; the message reads 'file:line: problem' and "
                     "the attributes file and line say the same.",
                     py::make_tuple(base, builtin(PyExc_ValueError)));
  types.invalid = make(m, "InvalidArgument", "An argument outside its allowed range.",
                       py::make_tuple(base, builtin(PyExc_ValueError)));
  types.limit =
      make(m, "LimitError",
           "A size beyond the index type or a memory limit; both an OverflowError and "
           "a MemoryError.",
           py::make_tuple(base, builtin(PyExc_OverflowError), builtin(PyExc_MemoryError)));
  types.io = make(m, "IoError", "A file or directory could not be opened, read or written.",
                  py::make_tuple(base, builtin(PyExc_OSError)));
  types.device = make(m, "DeviceError", "A CUDA, cuSPARSE or cuBLAS failure, or no device.",
                      py::make_tuple(base, builtin(PyExc_RuntimeError)));
  types.not_compiled =
      make(m, "NotCompiled", "A feature this build lacks; the message names the build option.",
           py::make_tuple(base, builtin(PyExc_NotImplementedError)));

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ParseError& e) {
      raise_parse_error(e);
    } catch (const ShapeError& e) {
      PyErr_SetString(types.shape, e.what());
    } catch (const FormatError& e) {
      PyErr_SetString(types.format, e.what());
    } catch (const InvalidArgument& e) {
      PyErr_SetString(types.invalid, e.what());
    } catch (const LimitError& e) {
      PyErr_SetString(types.limit, e.what());
    } catch (const IoError& e) {
      PyErr_SetString(types.io, e.what());
    } catch (const DeviceError& e) {
      PyErr_SetString(types.device, e.what());
    } catch (const NotCompiled& e) {
      PyErr_SetString(types.not_compiled, e.what());
    } catch (const Error& e) {
      PyErr_SetString(types.error, e.what());
    }
  });
}

}  // namespace spbmm::python
