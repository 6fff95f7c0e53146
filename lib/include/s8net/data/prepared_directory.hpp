// s8net data prepare's output directory, replaced as a whole or not at all. The files go into a
// sibling OUT.tmp-PID, its manifest last, and that directory then takes OUT's place; a failure or
// an interruption at any point leaves the previous OUT as it was and removes the temporary.
#pragma once

#include <s8net/data/dataset.hpp>

#include <filesystem>
#include <functional>

namespace s8net {

// Throws s8net::Error naming OUT unless it may be replaced: absent, empty, or holding only files a
// prepare writes (the user's other files are never swept away with it).
void check_replaceable_data_directory(const std::filesystem::path& out);

// Removes the OUT.tmp-PID and OUT.old-PID siblings of processes no longer running: what a prepare
// killed outright (SIGKILL, a second Ctrl-C, a power cut) left behind.
void remove_stale_data_temporaries(const std::filesystem::path& out);

// Writes `data` in the binary layout with a manifest and puts it in OUT's place. `stop_requested`
// is asked between the steps; when it answers yes, nothing is replaced and the result is false.
// Throws s8net::Error naming the file or directory that failed (OUT is then untouched too).
bool write_prepared_data(const CifarData& data, const std::filesystem::path& out,
                         const std::function<bool()>& stop_requested = {});

}  // namespace s8net
