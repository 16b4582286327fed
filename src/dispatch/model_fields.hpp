// The text form of a MachineModel, shared by its file reader and writer (model.cpp) and the
// per-device cache of GPU figures (gpu_cache.cpp): the keys with the member each names.
#pragma once

#include <span>
#include <string>

#include "spbmm/plan.hpp"

namespace spbmm::dispatch {

struct ModelField {
  const char* key;
  double MachineModel::*member;
};

// Every figure, in file order.
std::span<const ModelField> model_fields() noexcept;
// The GPU figures: the tail of model_fields().
std::span<const ModelField> gpu_model_fields() noexcept;

// s without leading and trailing blanks (spaces, tabs, carriage returns).
std::string trim_blanks(const std::string& s);

}  // namespace spbmm::dispatch
