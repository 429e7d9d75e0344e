// negotiate() checks a descriptor in memory: the cases no real compiler
// produces by accident (other build facts, short structs) are made here.
#include "plugin/AbiNegotiation.h"

#include <gtest/gtest.h>

#include <cstddef>

using wharf::plugin::negotiate;

namespace {

wharf_status data(void *, void *, wharf_session *, const uint8_t *, size_t) {
  return WHARF_OK;
}

wharf_plugin valid() {
  wharf_plugin plugin{};
  plugin.header = WHARF_ABI_HEADER_INIT(WHARF_PLUGIN_MAGIC, wharf_plugin);
  plugin.name = "t";
  plugin.version = "1";
  plugin.capabilities = WHARF_CAP_EVENT | WHARF_CAP_STREAM;
  plugin.on_session_data = data;
  return plugin;
}

std::string refusal(const wharf_plugin &plugin) {
  try {
    negotiate(&plugin);
  } catch (const std::invalid_argument &error) {
    return error.what();
  }
  return "accepted";
}

}  // namespace

TEST(AbiNegotiation, AcceptsAValidDescriptorAndCopiesIt) {
  wharf_plugin plugin = valid();
  auto descriptor = negotiate(&plugin);
  EXPECT_EQ(descriptor.name, "t");
  EXPECT_EQ(descriptor.hooks.on_session_data, data);
}

TEST(AbiNegotiation, ReadsOnlyWhatStructSizeCovers) {
  // An older plugin's shorter struct: fields past its size must read as zero.
  wharf_plugin plugin = valid();
  plugin.session_export = reinterpret_cast<decltype(plugin.session_export)>(0x1);
  plugin.session_import = reinterpret_cast<decltype(plugin.session_import)>(0x1);
  plugin.header.struct_size = offsetof(wharf_plugin, session_export);  // a 1.4 plugin's
  auto descriptor = negotiate(&plugin);
  EXPECT_EQ(descriptor.hooks.session_export, nullptr);
  EXPECT_EQ(descriptor.hooks.session_import, nullptr);
  EXPECT_EQ(descriptor.hooks.on_session_data, data);
}

TEST(AbiNegotiation, RefusesADescriptorShorterThanTheFirstAbis) {
  wharf_plugin plugin = valid();
  plugin.header.struct_size = offsetof(wharf_plugin, serve);
  EXPECT_EQ(refusal(plugin), "plugin descriptor is smaller than ABI 1.0's");
}

TEST(AbiNegotiation, RefusesOtherBuildFacts) {
  wharf_plugin plugin = valid();
  plugin.header.off_t_size = 4;
  EXPECT_EQ(refusal(plugin),
            "built for another machine model (pointer/size_t/off_t sizes 8/8/4, host 8/8/8)");
}

TEST(AbiNegotiation, RefusesMissingIdentity) {
  wharf_plugin plugin = valid();
  plugin.name = nullptr;
  EXPECT_EQ(refusal(plugin), "the descriptor has no name");
  plugin = valid();
  plugin.version = nullptr;
  EXPECT_EQ(refusal(plugin), "the descriptor has no version");
}

TEST(AbiNegotiation, RefusesCapabilitiesTheHooksDoNotBack) {
  wharf_plugin plugin = valid();
  plugin.capabilities = WHARF_CAP_STREAM;
  EXPECT_EQ(refusal(plugin), "declares neither WHARF_CAP_EVENT nor WHARF_CAP_BLOCKING");
  plugin = valid();
  plugin.capabilities = WHARF_CAP_EVENT;
  EXPECT_EQ(refusal(plugin), "declares neither WHARF_CAP_STREAM nor WHARF_CAP_DATAGRAM");
  plugin = valid();
  plugin.capabilities |= WHARF_CAP_DATAGRAM;
  EXPECT_EQ(refusal(plugin), "declares event-style datagrams without on_datagram");
  plugin = valid();
  plugin.on_session_data = nullptr;
  EXPECT_EQ(refusal(plugin), "declares event-style streams without on_session_data");
}
