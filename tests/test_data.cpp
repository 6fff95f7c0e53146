// CIFAR-10 binary reader and writer, the image-folder importer (directory and .tar.gz), and
// every refusal naming the file: wrong size, bad label, missing file, unknown class folder,
// undecodable or wrongly sized image, empty split. The core's load_cifar reads binary directories
// alone; s8net::image_import's load_any_cifar reads every source.
#include "support/app_runner.hpp"
#include "support/error_of.hpp"
#include "support/synthetic_data.hpp"
#include "support/tar_writer.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/format.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/data/archive_reader.hpp>
#include <s8net/data/cifar_archive.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/data_source.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/data/image_folder.hpp>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <boost/crc.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using s8net::test::error_of;
using s8net::test::TempDir;

void expect_same(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_TRUE(a.pixels == b.pixels) << "pixels differ";
}

void write_bytes(const fs::path& file, const std::vector<uint8_t>& bytes) {
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(CifarBinary, WritesAndReadsBackTheSixFiles) {
  const TempDir dir("data");
  const CifarData data = test::random_cifar(23, 7);
  write_cifar_binary(data, dir.path());
  for (const char* name : {"data_batch_1.bin", "data_batch_5.bin", "test_batch.bin", "batches.meta.txt"})
    EXPECT_TRUE(fs::exists(dir / name)) << name;
  // 23 images over five files: 4, 5, 4, 5, 5 records of 3,073 bytes.
  EXPECT_EQ(fs::file_size(dir / "data_batch_1.bin"), 4u * 3073u);
  EXPECT_EQ(fs::file_size(dir / "data_batch_2.bin"), 5u * 3073u);
  const CifarData read = read_cifar_binary(dir.path());
  expect_same(read.train, data.train);
  expect_same(read.test, data.test);
  EXPECT_EQ(detect_data_format(dir.path()), DataFormat::cifar_binary);
}

TEST(CifarBinary, RecordLayoutIsLabelThenRedGreenBluePlanes) {
  std::vector<uint8_t> record(kRecordBytes);
  record[0] = 7;
  record[1] = 11;                // red (0, 0)
  record[1 + 1024 + 33] = 22;    // green (1, 1)
  record[1 + 2048 + 1023] = 33;  // blue (31, 31)
  Dataset set;
  append_cifar_records(record, "record", set);
  ASSERT_EQ(set.size(), 1);
  EXPECT_EQ(set.labels[0], 7);
  const RgbImage image = from_planar(set.image(0));
  EXPECT_EQ(image.pixels[0], 11);
  EXPECT_EQ(image.pixels[(1 * 32 + 1) * 3 + 1], 22);
  EXPECT_EQ(image.pixels[(31 * 32 + 31) * 3 + 2], 33);
}

TEST(CifarBinary, ReadsTheOfficialTarGzAndAParentDirectory) {
  const TempDir dir("data");
  const CifarData data = test::random_cifar(10, 5);
  write_cifar_binary(data, dir / "cifar-10-batches-bin");
  test::make_tar_gz(dir / "cifar-10-binary.tar.gz", dir.path(), "cifar-10-batches-bin");
  EXPECT_TRUE(is_cifar_binary_archive(dir / "cifar-10-binary.tar.gz"));
  EXPECT_FALSE(is_cifar_binary_directory(dir / "cifar-10-binary.tar.gz"));
  expect_same(read_cifar_binary_archive(dir / "cifar-10-binary.tar.gz").train, data.train);
  expect_same(read_cifar_binary(dir.path()).test, data.test);  // the directory holding cifar-10-batches-bin
  EXPECT_EQ(detect_data_format(dir / "cifar-10-binary.tar.gz"), DataFormat::cifar_binary);
  expect_same(load_any_cifar(dir / "cifar-10-binary.tar.gz").test, data.test);
}

// The core reads what training needs, the binary version in a directory; an image folder or an
// archive needs decoding or libarchive, and the refusal says how to read it instead.
TEST(CoreLoadCifar, ReadsABinaryDirectoryAndRefusesImageFoldersAndArchivesSayingWhatReadsThem) {
  const TempDir dir("data");
  const CifarData data = test::random_cifar(10, 5);
  write_cifar_binary(data, dir / "cifar-10-batches-bin");
  expect_same(load_cifar(dir.path()).train, data.train);
  expect_same(load_cifar(dir / "cifar-10-batches-bin").test, data.test);

  test::make_tar_gz(dir / "cifar-10-binary.tar.gz", dir.path(), "cifar-10-batches-bin");
  test::write_image_folder(dir / "set", data, "png");
  const std::string how = " This program reads prepared data only; `s8net data prepare --from ";
  const std::string tail =
      " --out DIR` makes a directory it reads (a program linking s8net::image_import reads any "
      "source with load_any_cifar)";
  const std::string archive = (dir / "cifar-10-binary.tar.gz").string(), folder = (dir / "set").string();
  EXPECT_EQ(error_of([&] { load_cifar(archive); }), archive + ": not a directory: an archive?" + how + archive + tail);
  EXPECT_EQ(error_of([&] { load_cifar(folder); }),
            folder + ": not a CIFAR-10 binary directory (no data_batch_1.bin): an image folder?" + how + folder + tail);
  EXPECT_EQ(error_of([&] { load_cifar(dir / "nothing-here"); }),
            (dir / "nothing-here").string() + ": no such file or directory");
  EXPECT_EQ(error_of([&] { read_cifar_binary(archive); }),
            archive + ": not a directory (the CIFAR-10 binary version is read from its directory here)");
}

TEST(CifarBinary, RefusesBadFilesNamingThem) {
  const TempDir dir("data");
  write_cifar_binary(test::random_cifar(10, 2), dir.path());
  const std::string batch3 = (dir / "data_batch_3.bin").string();

  fs::resize_file(batch3, 3073 * 2 - 1);
  EXPECT_EQ(error_of([&] { read_cifar_binary(dir.path()); }),
            batch3 + ": 6,145 bytes is not a whole number of 3,073-byte records (1 label byte + 3,072 pixels)");

  std::vector<uint8_t> records(3073 * 2, 0);
  records[3073] = 10;
  write_bytes(batch3, records);
  EXPECT_EQ(error_of([&] { read_cifar_binary(dir.path()); }), batch3 + ": record 1 has label 10, expected 0-9");

  write_bytes(batch3, {});
  EXPECT_EQ(error_of([&] { read_cifar_binary(dir.path()); }), batch3 + ": empty file, expected 3,073-byte records");

  fs::remove(batch3);
  EXPECT_EQ(error_of([&] { read_cifar_binary(dir.path()); }), dir.path().string() + ": missing data_batch_3.bin");

  const TempDir empty("data");
  EXPECT_EQ(error_of([&] { read_cifar_binary(empty.path()); }),
            empty.path().string() + ": missing data_batch_1.bin (not a cifar-10-batches-bin directory)");
}

TEST(CifarBinary, RefusesClassNamesOtherThanSpecs) {
  const TempDir dir("data");
  write_cifar_binary(test::random_cifar(10, 2), dir.path());
  std::ofstream(dir / "batches.meta.txt") << "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nboat\ntruck\n";
  EXPECT_EQ(error_of([&] { read_cifar_binary(dir.path()); }),
            dir.path().string() + "/batches.meta.txt: class 8 is 'boat', expected 'ship'");
}

TEST(ImageFolder, ImportsPngLosslesslyInClassInterleavedOrder) {
  const TempDir dir("data");
  // Labels cycle 0..9, so class k holds images k, k+10, ...: the importer's interleaved order
  // (first of each class, then second of each ...) gives back the original order.
  const CifarData data = test::random_cifar(30, 10);
  test::write_image_folder(dir / "set", data, "png");
  const CifarData imported = import_image_folder(dir / "set");
  expect_same(imported.train, data.train);
  expect_same(imported.test, data.test);
  EXPECT_EQ(detect_data_format(dir / "set"), DataFormat::image_folder);
}

TEST(ImageFolder, ArchiveGivesTheSameImagesAsTheDirectory) {
  const TempDir dir("data");
  test::write_image_folder(dir / "set", test::random_cifar(20, 10), "jpg");
  std::ofstream(dir / "set" / "README.txt") << "not an image: skipped\n";
  test::make_tar_gz(dir / "set.tar.gz", dir.path(), "set");
  const CifarData from_directory = import_image_folder(dir / "set");
  const CifarData from_archive = load_any_cifar(dir / "set.tar.gz");
  expect_same(from_archive.train, from_directory.train);
  expect_same(from_archive.test, from_directory.test);
  EXPECT_EQ(from_archive.train.size(), 20);
}

TEST(ImageFolder, JpegDecodesCloseToTheOriginal) {
  const TempDir dir("data");
  // A smooth image survives JPEG (quality 95) within a few levels.
  CifarData data;
  std::vector<uint8_t> image(kImageBytes);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t p = 0; p < kImagePlane; ++p)
      image[static_cast<size_t>(c * kImagePlane + p)] = static_cast<uint8_t>(40 + c * 50 + p % 32 * 3);
  data.train.append(image, 3);
  data.test.append(image, 4);
  test::write_image_folder(dir.path(), data, "jpg");
  const CifarData imported = import_image_folder(dir.path());
  ASSERT_EQ(imported.train.size(), 1);
  EXPECT_EQ(imported.train.labels[0], 3);
  int worst = 0;
  for (size_t i = 0; i < image.size(); ++i)
    worst = std::max(worst, std::abs(int(imported.train.pixels[i]) - int(image[i])));
  EXPECT_LE(worst, 6);
}

TEST(ImageFolder, RefusesBadTreesNamingTheFile) {
  const TempDir dir("data");
  const fs::path root = dir / "set";
  test::write_image_folder(root, test::random_cifar(10, 2), "png");
  const std::string where = root.string() + ": ";

  fs::create_directories(root / "train" / "kitten");
  fs::copy_file(root / "train" / "cat" / "0003.png", root / "train" / "kitten" / "x.png");
  EXPECT_EQ(error_of([&] { import_image_folder(root); }),
            where +
                "train/kitten/x.png: unknown class folder 'kitten' (known: airplane, automobile, bird, cat, deer, "
                "dog, frog, horse, ship, truck)");
  fs::remove_all(root / "train" / "kitten");

  fs::create_directories(root / "valid" / "cat");
  fs::copy_file(root / "train" / "cat" / "0003.png", root / "valid" / "cat" / "x.png");
  EXPECT_EQ(
      error_of([&] { import_image_folder(root); }),
      where + "valid/cat/x.png: expected <train|test>/<class>/<image>, but the folder above the class is 'valid'");
  fs::remove_all(root / "valid");

  std::ofstream(root / "train" / "cat" / "broken.jpg") << "this is not a JPEG";
  EXPECT_EQ(error_of([&] { import_image_folder(root); }),
            where + "train/cat/broken.jpg: not an image (neither a JPEG nor a PNG signature)");
  fs::remove(root / "train" / "cat" / "broken.jpg");

  // A JPEG cut in half decodes to grey with a warning: refused, not trained on.
  const auto jpeg = encode_jpeg(from_planar(test::random_dataset(1, 3).image(0)), 90);
  write_bytes(root / "train" / "cat" / "cut.jpg",
              std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2)));
  EXPECT_CONTAINS(error_of([&] { import_image_folder(root); }), where + "train/cat/cut.jpg: not a decodable JPEG: ");
  fs::remove(root / "train" / "cat" / "cut.jpg");

  RgbImage wide{33, 32, std::vector<uint8_t>(33 * 32 * 3, 128)};
  write_file_atomically(root / "train" / "cat" / "wide.png", encode_png(wide));
  EXPECT_EQ(error_of([&] { import_image_folder(root); }), where + "train/cat/wide.png: image is 33x32, expected 32x32");
  fs::remove(root / "train" / "cat" / "wide.png");

  fs::remove_all(root / "test");
  EXPECT_EQ(error_of([&] { import_image_folder(root); }),
            root.string() + ": no test images (expected test/<class>/*.jpg or *.png)");

  EXPECT_EQ(error_of([&] { load_any_cifar(dir / "nothing-here"); }),
            (dir / "nothing-here").string() + ": no such file or directory");
}

// Headers announcing more pixels than any photo are refused before the decoder allocates for
// them (a 40-byte PNG claiming 100,000 x 100,000 pixels asked for 30 GB before this check).
TEST(ImageCodec, RefusesImagesClaimingAbsurdSizesBeforeDecoding) {
  std::vector<uint8_t> png = encode_png(RgbImage{2, 2, std::vector<uint8_t>(12, 7)});
  const uint8_t huge[4] = {0x00, 0x01, 0x86, 0xA0};  // 100,000, big-endian
  std::copy(huge, huge + 4, png.begin() + 16);       // IHDR width
  std::copy(huge, huge + 4, png.begin() + 20);       // IHDR height
  boost::crc_32_type crc;                            // the chunk's CRC, over its type and data
  crc.process_bytes(png.data() + 12, 17);
  for (int i = 0; i < 4; ++i) png[29 + static_cast<size_t>(i)] = static_cast<uint8_t>(crc.checksum() >> (24 - 8 * i));
  EXPECT_EQ(
      error_of([&] { decode_image(png, "huge.png"); }),
      "huge.png: image of 100000x100000 pixels is larger than s8net decodes (at most 64 megapixels, 16384 a side)");

  std::vector<uint8_t> jpeg = encode_jpeg(RgbImage{2, 2, std::vector<uint8_t>(12, 7)}, 90);
  const uint8_t start_of_frame[2] = {0xFF, 0xC0};
  const auto frame = std::search(jpeg.begin(), jpeg.end(), start_of_frame, start_of_frame + 2);
  ASSERT_NE(frame, jpeg.end());
  const uint8_t side[2] = {0xEA, 0x60};  // 60,000
  std::copy(side, side + 2, frame + 5);  // after marker, length and precision: height, then width
  std::copy(side, side + 2, frame + 7);
  EXPECT_EQ(error_of([&] { decode_image(jpeg, "huge.jpg"); }),
            "huge.jpg: image of 60000x60000 pixels is larger than s8net decodes (at most 64 megapixels, 16384 a side)");
}

// A symlinked image belongs to the folder the link sits in, not the one it points into.
TEST(ImageFolder, ASymlinkedImageTakesTheClassOfTheFolderItSitsIn) {
  const TempDir dir("data");
  const fs::path root = dir / "set";
  test::write_image_folder(root, test::random_cifar(10, 10), "png");  // one training image per class
  fs::create_symlink("../dog/0005.png", root / "train" / "cat" / "linked.png");
  const auto counts = import_image_folder(root).train.class_counts();
  EXPECT_EQ(counts[3], 2);  // cat: its own image and the link
  EXPECT_EQ(counts[5], 1);  // dog
}

// A tree of links into one flat pool imports like the tree of files it mirrors.
TEST(ImageFolder, ASymlinkFarmImportsLikeTheFilesItLinksTo) {
  const TempDir dir("data");
  const CifarData data = test::random_cifar(20, 10);
  test::write_image_folder(dir / "real", data, "png");
  fs::create_directories(dir / "pool");
  int count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "real")) {
    if (!entry.is_regular_file()) continue;
    const fs::path target = dir / "pool" / (std::to_string(count++) + ".png");
    fs::copy_file(entry.path(), target);
    const fs::path link = dir / "farm" / entry.path().lexically_relative(dir / "real");
    fs::create_directories(link.parent_path());
    fs::create_symlink(target, link);
  }
  const CifarData imported = import_image_folder(dir / "farm");
  expect_same(imported.train, data.train);
  expect_same(imported.test, data.test);
}

// An archive header may claim any size. An image entry claiming more than an image may have is
// refused naming it before anything is allocated (a claim of 2^62 bytes was a bare std::bad_alloc).
TEST(ImageFolder, AnArchiveEntryClaimingMoreThanAnImageMayHaveIsRefusedNamingIt) {
  const TempDir dir("data");
  for (const uint64_t claim : {uint64_t{1} << 62, uint64_t{100} << 20}) {
    const fs::path archive = dir / "forged.tar";
    std::FILE* out = std::fopen(archive.c_str(), "wb");
    ASSERT_NE(out, nullptr);
    test::TarWriter(out).add_claim("set/train/cat/huge.png", claim);
    std::fclose(out);
    EXPECT_EQ(error_of([&] { load_any_cifar(archive); }), archive.string() + ": entry set/train/cat/huge.png claims " +
                                                              with_thousands(static_cast<int64_t>(claim)) +
                                                              " bytes, more than an image may have (64 MiB)");
  }
}

TEST(ImageFolder, AnImageFileLargerThanAnImageMayHaveIsRefusedUnread) {
  const TempDir dir("data");
  const fs::path root = dir / "set";
  test::write_image_folder(root, test::random_cifar(10, 2), "png");
  std::ofstream(root / "train" / "cat" / "big.png").put('x');
  fs::resize_file(root / "train" / "cat" / "big.png", (uint64_t{64} << 20) + 1);  // sparse: no disk space used
  EXPECT_EQ(error_of([&] { import_image_folder(root); }),
            root.string() + ": train/cat/big.png is 67,108,865 bytes, more than an image may have (64 MiB)");
}

TEST(ImageFolder, DamagedArchiveIsRefusedNamingIt) {
  const TempDir dir("data");
  test::write_image_folder(dir / "set", test::random_cifar(10, 2), "png");
  test::make_tar_gz(dir / "set.tar.gz", dir.path(), "set");
  fs::resize_file(dir / "set.tar.gz", fs::file_size(dir / "set.tar.gz") / 2);
  EXPECT_CONTAINS(error_of([&] { load_any_cifar(dir / "set.tar.gz"); }), (dir / "set.tar.gz").string() + ": ");
}

TEST(DataPrepare, TheAppWritesTheBinaryLayoutFromAnImageFolderArchive) {
  const TempDir dir("data");
  const CifarData data = test::random_cifar(20, 10);
  test::write_image_folder(dir / "set", data, "png");
  test::make_tar_gz(dir / "set.tar.gz", dir.path(), "set");
  const auto r =
      test::run_app("data prepare --from " + (dir / "set.tar.gz").string() + " --out " + (dir / "bin").string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "(image folder)");
  EXPECT_CONTAINS(r.out, "total              20       10");
  const CifarData read = read_cifar_binary(dir / "bin");
  expect_same(read.train, data.train);
  expect_same(read.test, data.test);

  const auto info = test::run_app("data info --data " + (dir / "bin").string());
  EXPECT_EQ(info.exit_code, 0) << info.all();
  EXPECT_CONTAINS(info.out, "(CIFAR-10 binary)");

  const auto missing =
      test::run_app("data prepare --from " + (dir / "absent").string() + " --out " + (dir / "x").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "s8net data: " + (dir / "absent").string() + ": no such file or directory\n");
  EXPECT_EQ(test::run_app("data frobnicate").exit_code, 2);
}

}  // namespace

namespace {

// Files that are not images are skipped unread: a 512 MiB README in a .tar.gz of a few hundred
// kilobytes leaves the app's peak memory far below its size (it used to be read whole, then skipped).
TEST(DataPrepare, SkipsANonImageArchiveEntryWithoutHoldingItInMemory) {
  const TempDir dir("data");
  test::write_image_folder(dir / "set", test::random_cifar(10, 10), "png");
  const fs::path archive = dir / "set.tar.gz";
  std::FILE* gzip = ::popen(("gzip -1 > '" + archive.string() + "'").c_str(), "w");
  ASSERT_NE(gzip, nullptr);
  test::TarWriter tar(gzip);
  tar.add_zeros("set/README.txt", uint64_t{512} << 20);
  for (const auto& entry : fs::recursive_directory_iterator(dir / "set"))
    if (entry.is_regular_file())
      tar.add_file("set/" + entry.path().lexically_relative(dir / "set").string(), read_file_bytes(entry.path()));
  tar.finish();
  ASSERT_EQ(::pclose(gzip), 0);

  const auto r = test::run_app("data prepare --from " + archive.string() + " --out " + (dir / "bin").string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "total              10       10");
  rusage children{};
  ::getrusage(RUSAGE_CHILDREN, &children);
  EXPECT_LT(children.ru_maxrss, 256 * 1024) << "the largest child's peak resident kilobytes";
}

}  // namespace
