// From ordinary images to what S8Network takes. Decoders and image libraries give 32x32 RGB
// images as bytes, interleaved per pixel (R G B, rows top to bottom: HWC); the network takes
// planar floats (NCHW: the R plane, then G, then B), each value normalized per channel as in
// training:   value = (pixel / 255 - mean[c]) / std[c]
// with Normalization{}'s mean and std (CIFAR-10's, in data/augment.hpp). A picture of another
// size: decode_image() and resize_area() (data/image_codec.hpp, s8net::image_import) first.
#pragma once

#include <s8net/data/augment.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace s8net {

// `rgb_images`: n images of 32 x 32 x 3 bytes one after another; returns n x 3 x 32 x 32 floats,
// ready for S8Network::evaluate or forward_backward. Throws s8net::Error unless the size is a
// multiple of 3,072 or when a std is not positive.
std::vector<float> network_input(std::span<const uint8_t> rgb_images, const Normalization& normalization = {});

}  // namespace s8net
