// The public API of libs8net_image_import in one include: what a project linking
// s8net::image_import (CMake) or `pkg-config --libs s8net-image-import` uses on top of
// <s8net/s8net.hpp>. It decodes and encodes images (JPEG with libjpeg-turbo, PNG with libpng) and
// reads archives (libarchive); the core links none of them.
//
//   s8net::RgbImage photo = s8net::resize_area(s8net::decode_image(file_bytes, "cat.jpg"), 32, 32);
//   network.evaluate(s8net::network_input(photo.pixels), labels);   // then network.log_probabilities()
//
// Whole data sets from any source (data/any_data_source.hpp): s8net::load_any_cifar(path) reads the
// CIFAR-10 binary version (directory or .tar.gz) or an image folder (directory or .tar.gz) of
// <train|test>/<class>/*.jpg|png. The core's s8net::load_cifar reads binary directories alone.
#pragma once

#include <s8net/s8net.hpp>

#include <s8net/data/any_data_source.hpp>
#include <s8net/data/cifar_archive.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/data/image_folder.hpp>
