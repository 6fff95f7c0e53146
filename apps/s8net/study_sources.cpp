#include "study_sources.hpp"

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>

#include <cstdlib>
#include <deque>
#include <string>

namespace s8net::app {
namespace {

namespace mpi = boost::mpi;

class LocalSource : public PointSource {
 public:
  explicit LocalSource(std::vector<size_t> queue) : queue_(queue.begin(), queue.end()) {}
  std::optional<size_t> next() override {
    if (queue_.empty()) return std::nullopt;
    const size_t index = queue_.front();
    queue_.pop_front();
    return index;
  }
  void ended(size_t) override {}
  bool done() const override { return queue_.empty(); }

 private:
  std::deque<size_t> queue_;
};

// Message tags: a rank asks for a point, rank 0 assigns one (or -1: none left), a rank says it ended one.
constexpr int kAsk = 1, kAssign = 2, kEnded = 3;
constexpr long kNoneLeft = -1;

// Funneled: a training's OpenMP and loader threads exist, but only the main thread calls MPI.
mpi::environment& mpi_environment() {
  static mpi::environment env(mpi::threading::funneled, false);
  return env;
}

class Coordinator : public PointSource {
 public:
  explicit Coordinator(std::vector<size_t> queue) : queue_(queue.begin(), queue.end()) {}
  std::optional<size_t> next() override { return take(); }
  void ended(size_t) override {}
  void serve() override {
    while (const auto asked = world_.iprobe(mpi::any_source, kAsk)) {
      int unused = 0;
      world_.recv(asked->source(), kAsk, unused);
      const std::optional<size_t> index = take();
      world_.send(asked->source(), kAssign, index ? static_cast<long>(*index) : kNoneLeft);
      if (index)
        ++outstanding_;
      else
        ++ranks_told_none_left_;
    }
    while (const auto ended = world_.iprobe(mpi::any_source, kEnded)) {
      long index = 0;
      world_.recv(ended->source(), kEnded, index);
      --outstanding_;
    }
  }
  bool done() const override {
    return queue_.empty() && outstanding_ == 0 && ranks_told_none_left_ == world_.size() - 1;
  }
  std::string where() const override { return "rank 0 of " + std::to_string(world_.size()); }

 private:
  std::optional<size_t> take() {
    if (queue_.empty()) return std::nullopt;
    const size_t index = queue_.front();
    queue_.pop_front();
    return index;
  }
  mpi::communicator world_;
  std::deque<size_t> queue_;
  int outstanding_ = 0;  // points handed to other ranks and not yet ended
  int ranks_told_none_left_ = 0;
};

class Worker : public PointSource {
 public:
  std::optional<size_t> next() override {
    if (none_left_) return std::nullopt;
    world_.send(0, kAsk, 0);
    long index = kNoneLeft;
    world_.recv(0, kAssign, index);
    if (index == kNoneLeft) {
      none_left_ = true;
      return std::nullopt;
    }
    return static_cast<size_t>(index);
  }
  void ended(size_t index) override { world_.send(0, kEnded, static_cast<long>(index)); }
  bool done() const override { return none_left_; }
  std::string where() const override {
    return "rank " + std::to_string(world_.rank()) + " of " + std::to_string(world_.size());
  }

 private:
  mpi::communicator world_;
  bool none_left_ = false;
};

}  // namespace

std::unique_ptr<PointSource> local_source(std::vector<size_t> queue) {
  return std::make_unique<LocalSource>(std::move(queue));
}

bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(variable) != nullptr) return true;
  return false;
}

std::unique_ptr<PointSource> mpi_source(std::vector<size_t> queue) {
  mpi_environment();
  if (mpi_rank() == 0) return std::make_unique<Coordinator>(std::move(queue));
  return std::make_unique<Worker>();
}

void initialise_mpi() { mpi_environment(); }

int mpi_rank() {
  if (!launched_by_mpi()) return 0;
  mpi_environment();  // MPI is initialised before the communicator is asked
  return mpi::communicator().rank();
}

}  // namespace s8net::app
