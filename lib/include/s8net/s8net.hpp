// The public API of libs8net in one include: what a project linking s8net::s8net (CMake) or
// `pkg-config --libs s8net` uses. Everything lives in namespace s8net; errors are s8net::Error
// (a std::runtime_error whose message names the file, flag or tensor at fault).
//
//   s8net::Context context;                              // oneDNN CPU engine and stream
//   s8net::NormRegistry registry(context);               // normalization plugins, by name
//   s8net::load_plugin_search_path(registry, {plugin_dir});   // plugin_dir, S8NET_PLUGIN_PATH, install dir
//   s8net::NetworkConfig config;
//   config.norm = "gn";                                  // any loaded plugin: bn, gn, ln, in, yours
//   s8net::S8Network network(context, registry, config); // docs/network.md's network, Xavier-initialised
//   s8net::Sgd sgd(network.parameters(), {.learning_rate = 0.01f, .momentum = 0.95f});
//   network.forward_backward(images, labels);            // one training step: forward, loss, backward
//   sgd.step();                                          // ... and the update
//   s8net::BatchResult r = network.evaluate(images, labels);   // loss and correct predictions
//
// The images the network takes: batch x 3 x 32 x 32 floats (NCHW), each channel normalized as in
// training, (pixel / 255 - mean) / std with CIFAR-10's mean and std (s8net::Normalization). From
// 32x32 RGB bytes as decoders give them (interleaved, HWC), one call makes them (data/network_input.hpp):
//   std::vector<float> images = s8net::network_input(rgb_bytes);   // n x 3,072 bytes -> n x 3,072 floats
// Whole data sets: s8net::load_cifar(path) (data/data_source.hpp: the CIFAR-10 binary version in a
// directory, as `s8net data prepare` writes it) gives planar uint8 images (Dataset::image(i));
// s8net::BatchLoader (data/batch_loader.hpp) turns them into shuffled, augmented, normalized batches.
// Decoding JPEG and PNG files, image folders and archives (.tar.gz) are the separate
// s8net::image_import (<s8net/image_import.hpp>), the one that links libjpeg-turbo, libpng and libarchive.
//
// A network to a file and back, its configuration included (train/network_file.hpp):
//   s8net::save_network("model.s8ckpt", context, network);
//   std::unique_ptr<s8net::S8Network> loaded = s8net::load_network("model.s8ckpt", context, registry);
// Finer control (optimizer momentum, training progress): s8net::Checkpoint with capture_tensors() /
// restore_tensors() (train/network_state.hpp), save_checkpoint() / load_checkpoint() (train/checkpoint.hpp).
// Whole training runs: s8net::Trainer (train/trainer.hpp).
// Writing a plugin needs only <s8net/norm/plugin_sdk.hpp> (target s8net::plugin_sdk).
// Figures, HTML reports and study results are the separate s8net::report (<s8net/report/...>,
// <s8net/study/aggregate.hpp>), the one that links cairo.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/core/error.hpp>
#include <s8net/data/batch_loader.hpp>
#include <s8net/data/data_source.hpp>
#include <s8net/data/network_input.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/plugin_search.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/network_file.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/sgd.hpp>
