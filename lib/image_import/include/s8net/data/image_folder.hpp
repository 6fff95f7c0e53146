// Image-folder data sets: <root>/.../<train|test>/<class>/<file>.{jpg,jpeg,png}, as a directory or
// an archive (.tar.gz, .tar), with class folders named as in docs/data.md. Images must be 32x32.
#pragma once

#include <s8net/data/dataset.hpp>

#include <filesystem>
#include <functional>

namespace s8net {

// Called from the importing thread with images decoded so far and the total.
using ImportProgress = std::function<void(int64_t done, int64_t total)>;

// Decodes every image (in parallel with TBB). The order is deterministic and interleaves the
// classes (each class's files sorted by name, then one image of each class in turn), so the first
// N images of a split are balanced: --limit-train N stays meaningful. Throws s8net::Error naming
// the file for an unknown class or split folder, an undecodable image, a size other than 32x32,
// and for an empty split.
CifarData import_image_folder(const std::filesystem::path& path, const ImportProgress& progress = {});

}  // namespace s8net
