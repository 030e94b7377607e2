// OTLP metrics → Prometheus remote-write series. The rules are the Collector's (team reference
// collector.md §10); prometheus.h lists them per function and the choices made where the
// reference leaves room.
#include "otlp/prometheus.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/go_format.h"

namespace sprout::otlp {
namespace {

using pb::common::AnyValue;
using pb::common::KeyValue;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
constexpr uint32_t kNoRecordedValue = pb::metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK;
constexpr double kDefaultZeroThreshold = 1e-128;
constexpr size_t kMaxExemplarRunes = 128;
constexpr std::string_view kNameLabel = "__name__";

constexpr std::string_view kServiceName = "service.name";
constexpr std::string_view kServiceNamespace = "service.namespace";
constexpr std::string_view kServiceInstanceId = "service.instance.id";

bool IsServiceAttribute(std::string_view key) {
  return key == kServiceName || key == kServiceNamespace || key == kServiceInstanceId;
}

int64_t NanosToMillis(uint64_t nanos) { return static_cast<int64_t>(nanos / 1000000); }

// ---------------------------------------------------------------------------------------------
// Unicode. The rules speak of letters and digits in Go's sense (categories L* and Nd), so names
// written in other scripts keep their letters instead of turning into underscores.

// Letters and decimal digits above U+007F as inclusive ranges, generated from the Unicode 14
// character database (Python's unicodedata: category L* or Nd).
// clang-format off
constexpr char32_t kLetterOrDigitRanges[][2] = {
    {0xAA, 0xAA}, {0xB5, 0xB5}, {0xBA, 0xBA}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x2C1},
    {0x2C6, 0x2D1}, {0x2E0, 0x2E4}, {0x2EC, 0x2EC}, {0x2EE, 0x2EE}, {0x370, 0x374}, {0x376, 0x377},
    {0x37A, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1},
    {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556}, {0x559, 0x559}, {0x560, 0x588},
    {0x5D0, 0x5EA}, {0x5EF, 0x5F2}, {0x620, 0x64A}, {0x660, 0x669}, {0x66E, 0x66F}, {0x671, 0x6D3},
    {0x6D5, 0x6D5}, {0x6E5, 0x6E6}, {0x6EE, 0x6FC}, {0x6FF, 0x6FF}, {0x710, 0x710}, {0x712, 0x72F},
    {0x74D, 0x7A5}, {0x7B1, 0x7B1}, {0x7C0, 0x7EA}, {0x7F4, 0x7F5}, {0x7FA, 0x7FA}, {0x800, 0x815},
    {0x81A, 0x81A}, {0x824, 0x824}, {0x828, 0x828}, {0x840, 0x858}, {0x860, 0x86A}, {0x870, 0x887},
    {0x889, 0x88E}, {0x8A0, 0x8C9}, {0x904, 0x939}, {0x93D, 0x93D}, {0x950, 0x950}, {0x958, 0x961},
    {0x966, 0x96F}, {0x971, 0x980}, {0x985, 0x98C}, {0x98F, 0x990}, {0x993, 0x9A8}, {0x9AA, 0x9B0},
    {0x9B2, 0x9B2}, {0x9B6, 0x9B9}, {0x9BD, 0x9BD}, {0x9CE, 0x9CE}, {0x9DC, 0x9DD}, {0x9DF, 0x9E1},
    {0x9E6, 0x9F1}, {0x9FC, 0x9FC}, {0xA05, 0xA0A}, {0xA0F, 0xA10}, {0xA13, 0xA28}, {0xA2A, 0xA30},
    {0xA32, 0xA33}, {0xA35, 0xA36}, {0xA38, 0xA39}, {0xA59, 0xA5C}, {0xA5E, 0xA5E}, {0xA66, 0xA6F},
    {0xA72, 0xA74}, {0xA85, 0xA8D}, {0xA8F, 0xA91}, {0xA93, 0xAA8}, {0xAAA, 0xAB0}, {0xAB2, 0xAB3},
    {0xAB5, 0xAB9}, {0xABD, 0xABD}, {0xAD0, 0xAD0}, {0xAE0, 0xAE1}, {0xAE6, 0xAEF}, {0xAF9, 0xAF9},
    {0xB05, 0xB0C}, {0xB0F, 0xB10}, {0xB13, 0xB28}, {0xB2A, 0xB30}, {0xB32, 0xB33}, {0xB35, 0xB39},
    {0xB3D, 0xB3D}, {0xB5C, 0xB5D}, {0xB5F, 0xB61}, {0xB66, 0xB6F}, {0xB71, 0xB71}, {0xB83, 0xB83},
    {0xB85, 0xB8A}, {0xB8E, 0xB90}, {0xB92, 0xB95}, {0xB99, 0xB9A}, {0xB9C, 0xB9C}, {0xB9E, 0xB9F},
    {0xBA3, 0xBA4}, {0xBA8, 0xBAA}, {0xBAE, 0xBB9}, {0xBD0, 0xBD0}, {0xBE6, 0xBEF}, {0xC05, 0xC0C},
    {0xC0E, 0xC10}, {0xC12, 0xC28}, {0xC2A, 0xC39}, {0xC3D, 0xC3D}, {0xC58, 0xC5A}, {0xC5D, 0xC5D},
    {0xC60, 0xC61}, {0xC66, 0xC6F}, {0xC80, 0xC80}, {0xC85, 0xC8C}, {0xC8E, 0xC90}, {0xC92, 0xCA8},
    {0xCAA, 0xCB3}, {0xCB5, 0xCB9}, {0xCBD, 0xCBD}, {0xCDD, 0xCDE}, {0xCE0, 0xCE1}, {0xCE6, 0xCEF},
    {0xCF1, 0xCF2}, {0xD04, 0xD0C}, {0xD0E, 0xD10}, {0xD12, 0xD3A}, {0xD3D, 0xD3D}, {0xD4E, 0xD4E},
    {0xD54, 0xD56}, {0xD5F, 0xD61}, {0xD66, 0xD6F}, {0xD7A, 0xD7F}, {0xD85, 0xD96}, {0xD9A, 0xDB1},
    {0xDB3, 0xDBB}, {0xDBD, 0xDBD}, {0xDC0, 0xDC6}, {0xDE6, 0xDEF}, {0xE01, 0xE30}, {0xE32, 0xE33},
    {0xE40, 0xE46}, {0xE50, 0xE59}, {0xE81, 0xE82}, {0xE84, 0xE84}, {0xE86, 0xE8A}, {0xE8C, 0xEA3},
    {0xEA5, 0xEA5}, {0xEA7, 0xEB0}, {0xEB2, 0xEB3}, {0xEBD, 0xEBD}, {0xEC0, 0xEC4}, {0xEC6, 0xEC6},
    {0xED0, 0xED9}, {0xEDC, 0xEDF}, {0xF00, 0xF00}, {0xF20, 0xF29}, {0xF40, 0xF47}, {0xF49, 0xF6C},
    {0xF88, 0xF8C}, {0x1000, 0x102A}, {0x103F, 0x1049}, {0x1050, 0x1055}, {0x105A, 0x105D},
    {0x1061, 0x1061}, {0x1065, 0x1066}, {0x106E, 0x1070}, {0x1075, 0x1081}, {0x108E, 0x108E},
    {0x1090, 0x1099}, {0x10A0, 0x10C5}, {0x10C7, 0x10C7}, {0x10CD, 0x10CD}, {0x10D0, 0x10FA},
    {0x10FC, 0x1248}, {0x124A, 0x124D}, {0x1250, 0x1256}, {0x1258, 0x1258}, {0x125A, 0x125D},
    {0x1260, 0x1288}, {0x128A, 0x128D}, {0x1290, 0x12B0}, {0x12B2, 0x12B5}, {0x12B8, 0x12BE},
    {0x12C0, 0x12C0}, {0x12C2, 0x12C5}, {0x12C8, 0x12D6}, {0x12D8, 0x1310}, {0x1312, 0x1315},
    {0x1318, 0x135A}, {0x1380, 0x138F}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1401, 0x166C},
    {0x166F, 0x167F}, {0x1681, 0x169A}, {0x16A0, 0x16EA}, {0x16F1, 0x16F8}, {0x1700, 0x1711},
    {0x171F, 0x1731}, {0x1740, 0x1751}, {0x1760, 0x176C}, {0x176E, 0x1770}, {0x1780, 0x17B3},
    {0x17D7, 0x17D7}, {0x17DC, 0x17DC}, {0x17E0, 0x17E9}, {0x1810, 0x1819}, {0x1820, 0x1878},
    {0x1880, 0x1884}, {0x1887, 0x18A8}, {0x18AA, 0x18AA}, {0x18B0, 0x18F5}, {0x1900, 0x191E},
    {0x1946, 0x196D}, {0x1970, 0x1974}, {0x1980, 0x19AB}, {0x19B0, 0x19C9}, {0x19D0, 0x19D9},
    {0x1A00, 0x1A16}, {0x1A20, 0x1A54}, {0x1A80, 0x1A89}, {0x1A90, 0x1A99}, {0x1AA7, 0x1AA7},
    {0x1B05, 0x1B33}, {0x1B45, 0x1B4C}, {0x1B50, 0x1B59}, {0x1B83, 0x1BA0}, {0x1BAE, 0x1BE5},
    {0x1C00, 0x1C23}, {0x1C40, 0x1C49}, {0x1C4D, 0x1C7D}, {0x1C80, 0x1C88}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1CE9, 0x1CEC}, {0x1CEE, 0x1CF3}, {0x1CF5, 0x1CF6}, {0x1CFA, 0x1CFA},
    {0x1D00, 0x1DBF}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D},
    {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D},
    {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC},
    {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC},
    {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C}, {0x2102, 0x2102}, {0x2107, 0x2107},
    {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0x2D00, 0x2D25}, {0x2D27, 0x2D27}, {0x2D2D, 0x2D2D}, {0x2D30, 0x2D67}, {0x2D6F, 0x2D6F},
    {0x2D80, 0x2D96}, {0x2DA0, 0x2DA6}, {0x2DA8, 0x2DAE}, {0x2DB0, 0x2DB6}, {0x2DB8, 0x2DBE},
    {0x2DC0, 0x2DC6}, {0x2DC8, 0x2DCE}, {0x2DD0, 0x2DD6}, {0x2DD8, 0x2DDE}, {0x2E2F, 0x2E2F},
    {0x3005, 0x3006}, {0x3031, 0x3035}, {0x303B, 0x303C}, {0x3041, 0x3096}, {0x309D, 0x309F},
    {0x30A1, 0x30FA}, {0x30FC, 0x30FF}, {0x3105, 0x312F}, {0x3131, 0x318E}, {0x31A0, 0x31BF},
    {0x31F0, 0x31FF}, {0x3400, 0x4DBF}, {0x4E00, 0xA48C}, {0xA4D0, 0xA4FD}, {0xA500, 0xA60C},
    {0xA610, 0xA62B}, {0xA640, 0xA66E}, {0xA67F, 0xA69D}, {0xA6A0, 0xA6E5}, {0xA717, 0xA71F},
    {0xA722, 0xA788}, {0xA78B, 0xA7CA}, {0xA7D0, 0xA7D1}, {0xA7D3, 0xA7D3}, {0xA7D5, 0xA7D9},
    {0xA7F2, 0xA801}, {0xA803, 0xA805}, {0xA807, 0xA80A}, {0xA80C, 0xA822}, {0xA840, 0xA873},
    {0xA882, 0xA8B3}, {0xA8D0, 0xA8D9}, {0xA8F2, 0xA8F7}, {0xA8FB, 0xA8FB}, {0xA8FD, 0xA8FE},
    {0xA900, 0xA925}, {0xA930, 0xA946}, {0xA960, 0xA97C}, {0xA984, 0xA9B2}, {0xA9CF, 0xA9D9},
    {0xA9E0, 0xA9E4}, {0xA9E6, 0xA9FE}, {0xAA00, 0xAA28}, {0xAA40, 0xAA42}, {0xAA44, 0xAA4B},
    {0xAA50, 0xAA59}, {0xAA60, 0xAA76}, {0xAA7A, 0xAA7A}, {0xAA7E, 0xAAAF}, {0xAAB1, 0xAAB1},
    {0xAAB5, 0xAAB6}, {0xAAB9, 0xAABD}, {0xAAC0, 0xAAC0}, {0xAAC2, 0xAAC2}, {0xAADB, 0xAADD},
    {0xAAE0, 0xAAEA}, {0xAAF2, 0xAAF4}, {0xAB01, 0xAB06}, {0xAB09, 0xAB0E}, {0xAB11, 0xAB16},
    {0xAB20, 0xAB26}, {0xAB28, 0xAB2E}, {0xAB30, 0xAB5A}, {0xAB5C, 0xAB69}, {0xAB70, 0xABE2},
    {0xABF0, 0xABF9}, {0xAC00, 0xD7A3}, {0xD7B0, 0xD7C6}, {0xD7CB, 0xD7FB}, {0xF900, 0xFA6D},
    {0xFA70, 0xFAD9}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFB1D, 0xFB1D}, {0xFB1F, 0xFB28},
    {0xFB2A, 0xFB36}, {0xFB38, 0xFB3C}, {0xFB3E, 0xFB3E}, {0xFB40, 0xFB41}, {0xFB43, 0xFB44},
    {0xFB46, 0xFBB1}, {0xFBD3, 0xFD3D}, {0xFD50, 0xFD8F}, {0xFD92, 0xFDC7}, {0xFDF0, 0xFDFB},
    {0xFE70, 0xFE74}, {0xFE76, 0xFEFC}, {0xFF10, 0xFF19}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A},
    {0xFF66, 0xFFBE}, {0xFFC2, 0xFFC7}, {0xFFCA, 0xFFCF}, {0xFFD2, 0xFFD7}, {0xFFDA, 0xFFDC},
    {0x10000, 0x1000B}, {0x1000D, 0x10026}, {0x10028, 0x1003A}, {0x1003C, 0x1003D},
    {0x1003F, 0x1004D}, {0x10050, 0x1005D}, {0x10080, 0x100FA}, {0x10280, 0x1029C},
    {0x102A0, 0x102D0}, {0x10300, 0x1031F}, {0x1032D, 0x10340}, {0x10342, 0x10349},
    {0x10350, 0x10375}, {0x10380, 0x1039D}, {0x103A0, 0x103C3}, {0x103C8, 0x103CF},
    {0x10400, 0x1049D}, {0x104A0, 0x104A9}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10500, 0x10527}, {0x10530, 0x10563}, {0x10570, 0x1057A}, {0x1057C, 0x1058A},
    {0x1058C, 0x10592}, {0x10594, 0x10595}, {0x10597, 0x105A1}, {0x105A3, 0x105B1},
    {0x105B3, 0x105B9}, {0x105BB, 0x105BC}, {0x10600, 0x10736}, {0x10740, 0x10755},
    {0x10760, 0x10767}, {0x10780, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
    {0x10800, 0x10805}, {0x10808, 0x10808}, {0x1080A, 0x10835}, {0x10837, 0x10838},
    {0x1083C, 0x1083C}, {0x1083F, 0x10855}, {0x10860, 0x10876}, {0x10880, 0x1089E},
    {0x108E0, 0x108F2}, {0x108F4, 0x108F5}, {0x10900, 0x10915}, {0x10920, 0x10939},
    {0x10980, 0x109B7}, {0x109BE, 0x109BF}, {0x10A00, 0x10A00}, {0x10A10, 0x10A13},
    {0x10A15, 0x10A17}, {0x10A19, 0x10A35}, {0x10A60, 0x10A7C}, {0x10A80, 0x10A9C},
    {0x10AC0, 0x10AC7}, {0x10AC9, 0x10AE4}, {0x10B00, 0x10B35}, {0x10B40, 0x10B55},
    {0x10B60, 0x10B72}, {0x10B80, 0x10B91}, {0x10C00, 0x10C48}, {0x10C80, 0x10CB2},
    {0x10CC0, 0x10CF2}, {0x10D00, 0x10D23}, {0x10D30, 0x10D39}, {0x10E80, 0x10EA9},
    {0x10EB0, 0x10EB1}, {0x10F00, 0x10F1C}, {0x10F27, 0x10F27}, {0x10F30, 0x10F45},
    {0x10F70, 0x10F81}, {0x10FB0, 0x10FC4}, {0x10FE0, 0x10FF6}, {0x11003, 0x11037},
    {0x11066, 0x1106F}, {0x11071, 0x11072}, {0x11075, 0x11075}, {0x11083, 0x110AF},
    {0x110D0, 0x110E8}, {0x110F0, 0x110F9}, {0x11103, 0x11126}, {0x11136, 0x1113F},
    {0x11144, 0x11144}, {0x11147, 0x11147}, {0x11150, 0x11172}, {0x11176, 0x11176},
    {0x11183, 0x111B2}, {0x111C1, 0x111C4}, {0x111D0, 0x111DA}, {0x111DC, 0x111DC},
    {0x11200, 0x11211}, {0x11213, 0x1122B}, {0x11280, 0x11286}, {0x11288, 0x11288},
    {0x1128A, 0x1128D}, {0x1128F, 0x1129D}, {0x1129F, 0x112A8}, {0x112B0, 0x112DE},
    {0x112F0, 0x112F9}, {0x11305, 0x1130C}, {0x1130F, 0x11310}, {0x11313, 0x11328},
    {0x1132A, 0x11330}, {0x11332, 0x11333}, {0x11335, 0x11339}, {0x1133D, 0x1133D},
    {0x11350, 0x11350}, {0x1135D, 0x11361}, {0x11400, 0x11434}, {0x11447, 0x1144A},
    {0x11450, 0x11459}, {0x1145F, 0x11461}, {0x11480, 0x114AF}, {0x114C4, 0x114C5},
    {0x114C7, 0x114C7}, {0x114D0, 0x114D9}, {0x11580, 0x115AE}, {0x115D8, 0x115DB},
    {0x11600, 0x1162F}, {0x11644, 0x11644}, {0x11650, 0x11659}, {0x11680, 0x116AA},
    {0x116B8, 0x116B8}, {0x116C0, 0x116C9}, {0x11700, 0x1171A}, {0x11730, 0x11739},
    {0x11740, 0x11746}, {0x11800, 0x1182B}, {0x118A0, 0x118E9}, {0x118FF, 0x11906},
    {0x11909, 0x11909}, {0x1190C, 0x11913}, {0x11915, 0x11916}, {0x11918, 0x1192F},
    {0x1193F, 0x1193F}, {0x11941, 0x11941}, {0x11950, 0x11959}, {0x119A0, 0x119A7},
    {0x119AA, 0x119D0}, {0x119E1, 0x119E1}, {0x119E3, 0x119E3}, {0x11A00, 0x11A00},
    {0x11A0B, 0x11A32}, {0x11A3A, 0x11A3A}, {0x11A50, 0x11A50}, {0x11A5C, 0x11A89},
    {0x11A9D, 0x11A9D}, {0x11AB0, 0x11AF8}, {0x11C00, 0x11C08}, {0x11C0A, 0x11C2E},
    {0x11C40, 0x11C40}, {0x11C50, 0x11C59}, {0x11C72, 0x11C8F}, {0x11D00, 0x11D06},
    {0x11D08, 0x11D09}, {0x11D0B, 0x11D30}, {0x11D46, 0x11D46}, {0x11D50, 0x11D59},
    {0x11D60, 0x11D65}, {0x11D67, 0x11D68}, {0x11D6A, 0x11D89}, {0x11D98, 0x11D98},
    {0x11DA0, 0x11DA9}, {0x11EE0, 0x11EF2}, {0x11FB0, 0x11FB0}, {0x12000, 0x12399},
    {0x12480, 0x12543}, {0x12F90, 0x12FF0}, {0x13000, 0x1342E}, {0x14400, 0x14646},
    {0x16800, 0x16A38}, {0x16A40, 0x16A5E}, {0x16A60, 0x16A69}, {0x16A70, 0x16ABE},
    {0x16AC0, 0x16AC9}, {0x16AD0, 0x16AED}, {0x16B00, 0x16B2F}, {0x16B40, 0x16B43},
    {0x16B50, 0x16B59}, {0x16B63, 0x16B77}, {0x16B7D, 0x16B8F}, {0x16E40, 0x16E7F},
    {0x16F00, 0x16F4A}, {0x16F50, 0x16F50}, {0x16F93, 0x16F9F}, {0x16FE0, 0x16FE1},
    {0x16FE3, 0x16FE3}, {0x17000, 0x187F7}, {0x18800, 0x18CD5}, {0x18D00, 0x18D08},
    {0x1AFF0, 0x1AFF3}, {0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE}, {0x1B000, 0x1B122},
    {0x1B150, 0x1B152}, {0x1B164, 0x1B167}, {0x1B170, 0x1B2FB}, {0x1BC00, 0x1BC6A},
    {0x1BC70, 0x1BC7C}, {0x1BC80, 0x1BC88}, {0x1BC90, 0x1BC99}, {0x1D400, 0x1D454},
    {0x1D456, 0x1D49C}, {0x1D49E, 0x1D49F}, {0x1D4A2, 0x1D4A2}, {0x1D4A5, 0x1D4A6},
    {0x1D4A9, 0x1D4AC}, {0x1D4AE, 0x1D4B9}, {0x1D4BB, 0x1D4BB}, {0x1D4BD, 0x1D4C3},
    {0x1D4C5, 0x1D505}, {0x1D507, 0x1D50A}, {0x1D50D, 0x1D514}, {0x1D516, 0x1D51C},
    {0x1D51E, 0x1D539}, {0x1D53B, 0x1D53E}, {0x1D540, 0x1D544}, {0x1D546, 0x1D546},
    {0x1D54A, 0x1D550}, {0x1D552, 0x1D6A5}, {0x1D6A8, 0x1D6C0}, {0x1D6C2, 0x1D6DA},
    {0x1D6DC, 0x1D6FA}, {0x1D6FC, 0x1D714}, {0x1D716, 0x1D734}, {0x1D736, 0x1D74E},
    {0x1D750, 0x1D76E}, {0x1D770, 0x1D788}, {0x1D78A, 0x1D7A8}, {0x1D7AA, 0x1D7C2},
    {0x1D7C4, 0x1D7CB}, {0x1D7CE, 0x1D7FF}, {0x1DF00, 0x1DF1E}, {0x1E100, 0x1E12C},
    {0x1E137, 0x1E13D}, {0x1E140, 0x1E149}, {0x1E14E, 0x1E14E}, {0x1E290, 0x1E2AD},
    {0x1E2C0, 0x1E2EB}, {0x1E2F0, 0x1E2F9}, {0x1E7E0, 0x1E7E6}, {0x1E7E8, 0x1E7EB},
    {0x1E7ED, 0x1E7EE}, {0x1E7F0, 0x1E7FE}, {0x1E800, 0x1E8C4}, {0x1E900, 0x1E943},
    {0x1E94B, 0x1E94B}, {0x1E950, 0x1E959}, {0x1EE00, 0x1EE03}, {0x1EE05, 0x1EE1F},
    {0x1EE21, 0x1EE22}, {0x1EE24, 0x1EE24}, {0x1EE27, 0x1EE27}, {0x1EE29, 0x1EE32},
    {0x1EE34, 0x1EE37}, {0x1EE39, 0x1EE39}, {0x1EE3B, 0x1EE3B}, {0x1EE42, 0x1EE42},
    {0x1EE47, 0x1EE47}, {0x1EE49, 0x1EE49}, {0x1EE4B, 0x1EE4B}, {0x1EE4D, 0x1EE4F},
    {0x1EE51, 0x1EE52}, {0x1EE54, 0x1EE54}, {0x1EE57, 0x1EE57}, {0x1EE59, 0x1EE59},
    {0x1EE5B, 0x1EE5B}, {0x1EE5D, 0x1EE5D}, {0x1EE5F, 0x1EE5F}, {0x1EE61, 0x1EE62},
    {0x1EE64, 0x1EE64}, {0x1EE67, 0x1EE6A}, {0x1EE6C, 0x1EE72}, {0x1EE74, 0x1EE77},
    {0x1EE79, 0x1EE7C}, {0x1EE7E, 0x1EE7E}, {0x1EE80, 0x1EE89}, {0x1EE8B, 0x1EE9B},
    {0x1EEA1, 0x1EEA3}, {0x1EEA5, 0x1EEA9}, {0x1EEAB, 0x1EEBB}, {0x1FBF0, 0x1FBF9},
    {0x20000, 0x2A6DF}, {0x2A700, 0x2B738}, {0x2B740, 0x2B81D}, {0x2B820, 0x2CEA1},
    {0x2CEB0, 0x2EBE0}, {0x2F800, 0x2FA1D}, {0x30000, 0x3134A},
};
// clang-format on

constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool IsLetterOrDigit(char32_t rune) {
  if (rune < 0x80) return IsAsciiAlnum(static_cast<char>(rune));
  const auto* first = std::begin(kLetterOrDigitRanges);
  const auto* it =
      std::upper_bound(first, std::end(kLetterOrDigitRanges), rune,
                       [](char32_t r, const char32_t(&range)[2]) { return r < range[0]; });
  return it != first && rune <= (*(it - 1))[1];
}

constexpr char32_t kRuneError = 0xFFFD;

// Decodes the UTF-8 sequence at s[i] (i < s.size()). As in Go, an invalid or truncated sequence
// is U+FFFD and consumes one byte, so every byte belongs to exactly one rune.
char32_t DecodeRune(std::string_view s, size_t i, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *len = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  char32_t rune;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, rune = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, rune = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, rune = b0 & 0x07, min = 0x10000;
  } else {
    return kRuneError;
  }
  if (i + n > s.size()) return kRuneError;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return kRuneError;
    rune = (rune << 6) | (b & 0x3F);
  }
  if (rune < min || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF)) return kRuneError;
  *len = n;
  return rune;
}

size_t CountRunes(std::string_view s) {
  size_t runes = 0;
  for (size_t i = 0, len = 0; i < s.size(); i += len, ++runes) DecodeRune(s, i, &len);
  return runes;
}

// Calls f(token) for each maximal run of letters and digits in `s` (Go's strings.FieldsFunc
// with "not a letter or digit" as the separator).
template <typename F>
void ForEachToken(std::string_view s, F f) {
  size_t start = std::string_view::npos;
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const bool keep = IsLetterOrDigit(DecodeRune(s, i, &len));
    if (keep && start == std::string_view::npos) start = i;
    if (!keep && start != std::string_view::npos) {
      f(s.substr(start, i - start));
      start = std::string_view::npos;
    }
  }
  if (start != std::string_view::npos) f(s.substr(start));
}

// ---------------------------------------------------------------------------------------------
// Number and byte formatting.

// Go's strconv.FormatFloat(v, 'f', -1, 64): `le` and `quantile` label values.
void AppendFloat(double v, std::string* out) { AppendGoFloat(v, 'f', -1, out); }

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, result.ptr);
}

void AppendBase64(std::string_view bytes, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (two ? static_cast<uint8_t>(bytes[i + 1]) << 8 : 0);
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(two ? kAlphabet[(v >> 6) & 63] : '=');
    out->push_back('=');
  }
}

void AppendHex(std::string_view bytes, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (char c : bytes) {
    out->push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out->push_back(kDigits[static_cast<uint8_t>(c) & 15]);
  }
}

// ---------------------------------------------------------------------------------------------
// Maps and slices as label values are JSON, as Go's encoding/json writes the attribute's raw
// form: map keys sorted (the last of duplicate keys wins), `<`, `>`, `&`, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD, bytes as base64 strings, an empty value as null.

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const char32_t rune = DecodeRune(s, i, &len);
    if (rune >= 0x80) {
      if (rune == kRuneError && len == 1) {
        out->append("\\ufffd");
      } else if (rune == 0x2028 || rune == 0x2029) {
        out->append(rune == 0x2028 ? "\\u2028" : "\\u2029");
      } else {
        out->append(s.substr(i, len));
      }
      continue;
    }
    const char c = static_cast<char>(rune);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == '<' || c == '>' || c == '&') {
          out->append("\\u00");
          out->push_back(kDigits[(c >> 4) & 15]);
          out->push_back(kDigits[c & 15]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

bool AppendJson(const AnyValue& value, std::string* out) {
  switch (value.value_case()) {
    case AnyValue::kStringValue:
      AppendJsonString(value.string_value(), out);
      return true;
    case AnyValue::kBoolValue:
      out->append(value.bool_value() ? "true" : "false");
      return true;
    case AnyValue::kIntValue:
      AppendInt(value.int_value(), out);
      return true;
    case AnyValue::kDoubleValue:
      return AppendGoJsonFloat(value.double_value(), out);
    case AnyValue::kBytesValue: {
      std::string encoded;
      AppendBase64(value.bytes_value(), &encoded);
      AppendJsonString(encoded, out);
      return true;
    }
    case AnyValue::kArrayValue: {
      out->push_back('[');
      bool first = true;
      for (const AnyValue& element : value.array_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendJson(element, out)) return false;
      }
      out->push_back(']');
      return true;
    }
    case AnyValue::kKvlistValue: {
      std::vector<const KeyValue*> entries;
      for (const KeyValue& kv : value.kvlist_value().values()) entries.push_back(&kv);
      std::stable_sort(entries.begin(), entries.end(),
                       [](const KeyValue* a, const KeyValue* b) { return a->key() < b->key(); });
      out->push_back('{');
      bool first = true;
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i + 1 < entries.size() && entries[i + 1]->key() == entries[i]->key()) continue;
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(entries[i]->key(), out);
        out->push_back(':');
        if (!AppendJson(entries[i]->value(), out)) return false;
      }
      out->push_back('}');
      return true;
    }
    case AnyValue::VALUE_NOT_SET:
      out->append("null");
      return true;
  }
  out->append("null");
  return true;
}

// The attribute value as text (the Collector's AsString).
void AppendLabelValue(const AnyValue& value, std::string* out) {
  switch (value.value_case()) {
    case AnyValue::kStringValue:
      out->append(value.string_value());
      return;
    case AnyValue::kBoolValue:
      out->append(value.bool_value() ? "true" : "false");
      return;
    case AnyValue::kIntValue:
      AppendInt(value.int_value(), out);
      return;
    case AnyValue::kDoubleValue:
      AppendPdataDouble(value.double_value(), out);  // 1e+21, 1e-7, "json: unsupported value: NaN"
      return;
    case AnyValue::kBytesValue:
      AppendBase64(value.bytes_value(), out);
      return;
    case AnyValue::kArrayValue:
    case AnyValue::kKvlistValue: {
      // A NaN or infinity somewhere inside makes the JSON encoding fail; the Collector then
      // has an empty text, and so an absent label.
      const size_t size = out->size();
      if (!AppendJson(value, out)) out->resize(size);
      return;
    }
    case AnyValue::VALUE_NOT_SET:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Label names.

// True when the name needs no change (the usual case), so no copy is made.
bool IsCleanLabelName(std::string_view name, bool permissive) {
  if (name.empty() || IsAsciiDigit(name[0])) return false;
  if (name[0] == '_' && !permissive && (name.size() == 1 || name[1] != '_')) return false;
  for (char c : name) {
    if (!IsAsciiAlnum(c) && c != '_') return false;
  }
  return true;
}

void AppendLabelName(std::string_view name, bool permissive, std::string* out) {
  const size_t start = out->size();
  for (size_t i = 0, len = 0; i < name.size(); i += len) {
    if (static_cast<unsigned char>(name[i]) < 0x80) {
      out->push_back(IsAsciiAlnum(name[i]) ? name[i] : '_');
      len = 1;
    } else if (IsLetterOrDigit(DecodeRune(name, i, &len))) {
      out->append(name.substr(i, len));
    } else {
      out->push_back('_');
    }
  }
  if (out->size() == start) return;
  const char first = (*out)[start];
  if (IsAsciiDigit(first)) {
    out->insert(start, "key_");
  } else if (first == '_' && !permissive &&
             (out->size() == start + 1 || (*out)[start + 1] != '_')) {
    out->insert(start, "key");
  }
}

// ---------------------------------------------------------------------------------------------
// Metric names.

struct UnitWord {
  std::string_view unit;
  std::string_view word;
};

constexpr UnitWord kUnitWords[] = {
    // Time
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    // Bytes. "tibibytes" (sic) is the word the reference gives for TiBy.
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    {"B", "bytes"},
    {"KB", "kilobytes"},
    {"MB", "megabytes"},
    {"GB", "gigabytes"},
    {"TB", "terabytes"},
    // SI
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    // Misc
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"%", "percent"},
    {"$", "dollars"},
    {"1", ""},
};

constexpr UnitWord kPerUnitWords[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

template <size_t N>
std::string_view MapUnit(std::string_view unit, const UnitWord (&table)[N]) {
  for (const UnitWord& entry : table) {
    if (entry.unit == unit) return entry.word;
  }
  return unit;
}

std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// The unit word as name text: its letter/digit runs joined with '_'. Empty for a unit in
// braces (an annotation such as {packets}) and for "1".
std::string UnitToken(std::string_view unit, bool per) {
  unit = TrimSpace(unit);
  std::string out;
  if (unit.empty() || unit.find_first_of("{}") != std::string_view::npos) return out;
  ForEachToken(per ? MapUnit(unit, kPerUnitWords) : MapUnit(unit, kUnitWords),
               [&](std::string_view token) {
                 if (!out.empty()) out.push_back('_');
                 out.append(token);
               });
  return out;
}

// Without suffixes: every run of characters other than letters, digits, '_' and ':' becomes
// one '_'.
std::string SimpleMetricName(std::string_view name, std::string_view metric_namespace) {
  std::string out;
  if (!metric_namespace.empty()) {
    out.append(metric_namespace);
    out.push_back('_');
  }
  bool in_run = false;
  for (size_t i = 0, len = 0; i < name.size(); i += len) {
    const char32_t rune = DecodeRune(name, i, &len);
    if (rune == '_' || rune == ':' || IsLetterOrDigit(rune)) {
      out.append(name.substr(i, len));
      in_run = false;
    } else if (!in_run) {
      out.push_back('_');
      in_run = true;
    }
  }
  if (!out.empty() && IsAsciiDigit(out[0])) out.insert(0, "_");
  return out;
}

// Go's %q for the error texts: quotes, with `"`, `\`, control characters and invalid bytes
// escaped.
std::string Quote(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  static constexpr std::string_view kControls = "\a\b\f\n\r\t\v";
  static constexpr std::string_view kControlLetters = "abfnrtv";
  std::string out = "\"";
  auto append_hex_byte = [&](uint8_t b) {
    out.append("\\x");
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  };
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const char32_t rune = DecodeRune(s, i, &len);
    if (rune == kRuneError && len == 1) {
      append_hex_byte(static_cast<uint8_t>(s[i]));
    } else if (rune == '"' || rune == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(rune));
    } else if (rune < 0x20 || rune == 0x7f) {
      const size_t control = kControls.find(static_cast<char>(rune));
      if (control != std::string_view::npos) {
        out.push_back('\\');
        out.push_back(kControlLetters[control]);
      } else {
        append_hex_byte(static_cast<uint8_t>(rune));
      }
    } else {
      out.append(s.substr(i, len));
    }
  }
  out.push_back('"');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Translation.

using LabelRef = PromLabel;

// An attribute's label before collisions are resolved.
struct AttributeLabel {
  std::string_view name;
  std::string_view value;
  std::string_view key;  // the attribute key it came from
};

struct OwnedLabel {
  std::string name;
  std::string value;
};

// Stable like std::stable_sort, without its temporary buffer: the ranges sorted per data point
// (its attributes, its labels) are short and often sorted already.
template <typename It, typename Compare>
void StableSortSmall(It first, It last, Compare less) {
  if (last - first > 64) {
    std::stable_sort(first, last, less);
    return;
  }
  for (It i = first; i != last; ++i) {
    auto value = std::move(*i);
    It j = i;
    for (; j != first && less(value, *(j - 1)); --j) *j = std::move(*(j - 1));
    *j = std::move(value);
  }
}

// Short-string helpers for the per-point hot path, where label names and values are mostly
// under 24 bytes and a call to memcmp or memcpy costs more than the work.

inline uint64_t Load8(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

inline uint32_t Load4(const char* p) {
  uint32_t word;
  std::memcpy(&word, p, 4);
  return word;
}

// The bytes of a 1..7-byte string folded into one word (overlapping loads, no loop).
inline uint64_t LoadUpTo7(const char* p, size_t n) {
  if (n >= 4) return (uint64_t{Load4(p)} << 32) | Load4(p + n - 4);
  return (uint64_t{static_cast<uint8_t>(p[0])} << 16) |
         (uint64_t{static_cast<uint8_t>(p[n >> 1])} << 8) | static_cast<uint8_t>(p[n - 1]);
}

inline bool Equal(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (n >= 8 && n <= 16) {
    return Load8(a.data()) == Load8(b.data()) && Load8(a.data() + n - 8) == Load8(b.data() + n - 8);
  }
  if (n > 0 && n < 8) return LoadUpTo7(a.data(), n) == LoadUpTo7(b.data(), n);
  return n == 0 || std::memcmp(a.data(), b.data(), n) == 0;
}

// Byte order, deciding on the first 8 bytes when it can.
inline bool Less(std::string_view a, std::string_view b) {
  if (a.size() >= 8 && b.size() >= 8) {
    const uint64_t x = __builtin_bswap64(Load8(a.data()));
    const uint64_t y = __builtin_bswap64(Load8(b.data()));
    if (x != y) return x < y;
  }
  return a < b;
}

bool ByName(const LabelRef& a, const LabelRef& b) { return Less(a.name, b.name); }

// A 64-bit hash of a sorted label set, for finding the series a point belongs to (equality is
// checked after, so a collision only costs a comparison): folded 64×64→128-bit multiplies over
// 16-byte blocks, one multiply for strings up to 16 bytes. Each string's length goes in too, so
// ("ab","c") and ("a","bc") differ.
inline uint64_t FoldedMultiply(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t HashString(uint64_t h, std::string_view s) {
  constexpr uint64_t kSecret0 = 0xa0761d6478bd642fULL;
  constexpr uint64_t kSecret1 = 0xe7037ed1a0b428dbULL;
  constexpr uint64_t kSecret2 = 0x8ebc6af09c88c6e3ULL;
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = Load8(p);
      b = Load8(p + n - 8);
    } else if (n > 0) {
      a = LoadUpTo7(p, n);
    }
  } else {
    size_t left = n;
    for (; left > 16; p += 16, left -= 16) {
      h = FoldedMultiply(Load8(p) ^ kSecret1, Load8(p + 8) ^ h);
    }
    a = Load8(p + left - 16);
    b = Load8(p + left - 8);
  }
  return FoldedMultiply(a ^ kSecret1 ^ n, b ^ kSecret2 ^ h) ^ (h + kSecret0);
}

uint64_t HashLabels(PromLabels labels) {
  uint64_t h = labels.size();
  for (const LabelRef& label : labels) {
    h = HashString(h, label.name);
    h = HashString(h, label.value);
  }
  return h;
}

// Bump allocator for the text one data point's labels need (formatted numbers, sanitized names,
// joined values): views stay valid until Rewind(), which keeps the memory for the next point.
class TextPool {
 public:
  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = Allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  void Rewind() {
    chunk_ = 0;
    used_ = 0;
  }

 private:
  static constexpr size_t kChunkSize = 4096;
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t size;
  };

  char* Allocate(size_t n) {
    if (chunk_ >= chunks_.size() || chunks_[chunk_].size - used_ < n) {
      if (chunk_ < chunks_.size()) ++chunk_;  // the rest of this chunk is left unused
      used_ = 0;
      if (chunk_ >= chunks_.size() || chunks_[chunk_].size < n) {
        const size_t size = std::max(n, kChunkSize);
        chunks_.insert(chunks_.begin() + static_cast<ptrdiff_t>(chunk_),
                       Chunk{std::make_unique<char[]>(size), size});
      }
    }
    char* p = chunks_[chunk_].data.get() + used_;
    used_ += n;
    return p;
  }

  std::vector<Chunk> chunks_;
  size_t chunk_ = 0;
  size_t used_ = 0;
};

// Remote-write sinks: series into PromTranslation's vectors, or into a WriteRequest (whose
// messages may live on an arena). Identical label sets are one series (found by hash, then
// compared); each series' samples, exemplars and histograms are sorted by time at Finish().
class VectorOutput {
 public:
  explicit VectorOutput(PromTranslation* out) : out_(out) {}
  void Reserve(size_t series) { out_->series.reserve(series); }
  size_t SeriesCount() const { return out_->series.size(); }
  prometheus::TimeSeries& Series(size_t i) { return out_->series[i]; }
  prometheus::TimeSeries& AddSeries() { return out_->series.emplace_back(); }
  prometheus::MetricMetadata& AddMetadata() { return out_->metadata.emplace_back(); }
  std::vector<prometheus::TimeSeries>& AllSeries() { return out_->series; }

 private:
  PromTranslation* out_;
};

class RequestOutput {
 public:
  explicit RequestOutput(prometheus::WriteRequest* out) : out_(out) {}
  void Reserve(size_t series) {
    out_->mutable_timeseries()->Reserve(static_cast<int>(
        std::min<size_t>(series + static_cast<size_t>(out_->timeseries_size()), INT32_MAX)));
  }
  size_t SeriesCount() const { return static_cast<size_t>(out_->timeseries_size()); }
  prometheus::TimeSeries& Series(size_t i) {
    return *out_->mutable_timeseries(static_cast<int>(i));
  }
  prometheus::TimeSeries& AddSeries() { return *out_->add_timeseries(); }
  prometheus::MetricMetadata& AddMetadata() { return *out_->add_metadata(); }
  google::protobuf::RepeatedPtrField<prometheus::TimeSeries>& AllSeries() {
    return *out_->mutable_timeseries();
  }

 private:
  prometheus::WriteRequest* out_;
};

template <typename Output>
class RemoteWriteSink final : public PromSink {
 public:
  explicit RemoteWriteSink(Output output) : output_(output), first_(output_.SeriesCount()) {}

  void Begin(size_t points) override {
    // Gauges and sums make one series per point at most; histograms make more and grow the
    // vector (moving a message is cheap).
    output_.Reserve(points);
    index_.reserve(points);
  }

  [[gnu::flatten]] PromSeriesRef Series(PromLabels labels, uint64_t hash) override {
    auto [it, inserted] = index_.try_emplace(hash, kNoSeries);
    for (uint32_t i = it->second; i != kNoSeries; i = next_same_hash_[i - first_]) {
      if (SameLabels(output_.Series(i), labels)) return i;
    }
    const auto index = static_cast<uint32_t>(output_.SeriesCount());
    prometheus::TimeSeries& series = output_.AddSeries();
    auto* out = series.mutable_labels();
    out->Reserve(static_cast<int>(labels.size()));
    for (const PromLabel& label : labels) {
      prometheus::Label* added = out->Add();
      added->set_name(label.name.data(), label.name.size());
      added->set_value(label.value.data(), label.value.size());
    }
    next_same_hash_.push_back(it->second);
    it->second = index;
    return index;
  }

  void Sample(PromSeriesRef series, int64_t timestamp_ms, double value) override {
    prometheus::Sample* sample = output_.Series(series).add_samples();
    sample->set_value(value);
    sample->set_timestamp(timestamp_ms);
  }

  void Histogram(PromSeriesRef series, const PromHistogram& h) override {
    prometheus::Histogram* out = output_.Series(series).add_histograms();
    out->set_schema(h.schema);
    out->set_zero_threshold(h.zero_threshold);
    out->set_reset_hint(prometheus::Histogram::UNKNOWN);
    out->set_timestamp(h.timestamp_ms);
    out->set_count_int(h.count);
    out->set_sum(h.sum);
    out->set_zero_count_int(h.zero_count);
    CopyBuckets(h.positive_spans, h.positive_deltas, out->mutable_positive_spans(),
                out->mutable_positive_deltas());
    CopyBuckets(h.negative_spans, h.negative_deltas, out->mutable_negative_spans(),
                out->mutable_negative_deltas());
  }

  void Exemplar(PromSeriesRef series, const PromExemplar& exemplar) override {
    prometheus::Exemplar* out = output_.Series(series).add_exemplars();
    out->set_value(exemplar.value);
    out->set_timestamp(exemplar.timestamp_ms);
    auto* labels = out->mutable_labels();
    for (const PromLabel& label : exemplar.labels) {
      prometheus::Label* added = labels->Add();
      added->set_name(label.name.data(), label.name.size());
      added->set_value(label.value.data(), label.value.size());
    }
  }

  void Metadata(const PromMetadata& m) override {
    prometheus::MetricMetadata& metadata = output_.AddMetadata();
    metadata.set_type(static_cast<prometheus::MetricMetadata::MetricType>(m.type));
    metadata.set_metric_family_name(m.family.data(), m.family.size());
    metadata.set_help(m.help.data(), m.help.size());
    metadata.set_unit(m.unit.data(), m.unit.size());
  }

  // Samples, exemplars and native histograms in time order (stable: equal times keep their
  // arrival order).
  void Finish() override {
    auto by_time = [](const auto* a, const auto* b) { return a->timestamp() < b->timestamp(); };
    auto sort = [&](auto* field) {
      if (field->size() < 2) return;
      if (!std::is_sorted(field->pointer_begin(), field->pointer_end(), by_time)) {
        std::stable_sort(field->pointer_begin(), field->pointer_end(), by_time);
      }
    };
    for (prometheus::TimeSeries& series : output_.AllSeries()) {
      sort(series.mutable_samples());
      sort(series.mutable_exemplars());
      sort(series.mutable_histograms());
    }
  }

 private:
  static constexpr uint32_t kNoSeries = ~uint32_t{0};

  static bool SameLabels(const prometheus::TimeSeries& series, PromLabels labels) {
    if (static_cast<size_t>(series.labels_size()) != labels.size()) return false;
    for (size_t i = 0; i < labels.size(); ++i) {
      const prometheus::Label& label = series.labels(static_cast<int>(i));
      if (!Equal(label.name(), labels[i].name) || !Equal(label.value(), labels[i].value)) {
        return false;
      }
    }
    return true;
  }

  static void CopyBuckets(std::span<const PromBucketSpan> spans, std::span<const int64_t> deltas,
                          google::protobuf::RepeatedPtrField<prometheus::BucketSpan>* out_spans,
                          google::protobuf::RepeatedField<int64_t>* out_deltas) {
    for (const PromBucketSpan& span : spans) {
      prometheus::BucketSpan* added = out_spans->Add();
      added->set_offset(span.offset);
      added->set_length(span.length);
    }
    out_deltas->Add(deltas.begin(), deltas.end());
  }

  Output output_;
  const size_t first_;  // series made before this translation are never merged with
  // Label-set hash → the newest series with it; next_same_hash_ chains older ones.
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  std::vector<uint32_t> next_same_hash_;
};

class Translator {
 public:
  Translator(const PromTranslationSettings& settings, PromSink* sink,
             std::vector<std::string>* errors, int64_t* dropped_points)
      : settings_(settings), sink_(sink), errors_(errors), dropped_points_(dropped_points) {
    for (const auto& [name, value] : settings.external_labels) {
      OwnedLabel label{PromLabelName(name, settings.permissive_label_sanitization), value};
      if (label.name.empty() || label.value.empty()) continue;
      external_labels_.push_back(std::move(label));
    }
    SortedRefs(external_labels_, &external_refs_);
    target_info_name_ = settings.metric_namespace.empty()
                            ? std::string("target_info")
                            : settings.metric_namespace + "_target_info";
  }

  void Translate(const pb::metrics_service::ExportMetricsServiceRequest& request) {
    sink_->Begin(static_cast<size_t>(CountItems(request)) +
                 static_cast<size_t>(request.resource_metrics_size()));
    for (const auto& resource_metrics : request.resource_metrics()) {
      TranslateResource(resource_metrics);
    }
    sink_->Finish();
  }

 private:
  void TranslateResource(const pb::metrics::ResourceMetrics& resource_metrics) {
    const KeyValues& resource_attributes = resource_metrics.resource().attributes();
    // job and instance; the first of duplicate keys counts. An empty text is no label.
    const AnyValue* service_name = nullptr;
    const AnyValue* service_namespace = nullptr;
    const AnyValue* instance_id = nullptr;
    for (const KeyValue& kv : resource_attributes) {
      if (kv.key() == kServiceName && service_name == nullptr) service_name = &kv.value();
      if (kv.key() == kServiceNamespace && service_namespace == nullptr) {
        service_namespace = &kv.value();
      }
      if (kv.key() == kServiceInstanceId && instance_id == nullptr) instance_id = &kv.value();
    }
    resource_labels_.clear();
    if (service_name != nullptr) {
      std::string job;
      AppendLabelValue(*service_name, &job);
      if (!job.empty()) {
        std::string prefix;
        if (service_namespace != nullptr) AppendLabelValue(*service_namespace, &prefix);
        if (!prefix.empty()) job = prefix + "/" + job;
        resource_labels_.push_back({"job", std::move(job)});
      }
    }
    if (instance_id != nullptr) {
      std::string instance;
      AppendLabelValue(*instance_id, &instance);
      if (!instance.empty()) resource_labels_.push_back({"instance", std::move(instance)});
    }
    SortedRefs(resource_labels_, &resource_refs_);

    promoted_.clear();
    if (settings_.resource_to_telemetry_conversion) {
      for (const KeyValue& kv : resource_attributes) {
        if (settings_.exclude_service_attributes && IsServiceAttribute(kv.key())) continue;
        promoted_.push_back(&kv);
      }
    }

    uint64_t latest_nanos = 0;
    for (const auto& scope_metrics : resource_metrics.scope_metrics()) {
      SetScope(scope_metrics);
      for (const auto& metric : scope_metrics.metrics()) {
        latest_nanos = std::max(latest_nanos, LatestTimestamp(metric));
        TranslateMetric(metric);
      }
    }
    if (settings_.target_info) AddTargetInfo(resource_attributes, latest_nanos);
  }

  // Labels every point of the scope gets over its attributes, in precedence order: scope labels
  // (attributes first, so that otel_scope_name and friends win), then job and instance.
  void SetScope(const pb::metrics::ScopeMetrics& scope_metrics) {
    overrides_.clear();
    if (settings_.scope_labels) {
      const auto& scope = scope_metrics.scope();
      for (const KeyValue& kv : scope.attributes()) {
        OwnedLabel label;
        AppendLabelName("otel_scope_" + kv.key(), settings_.permissive_label_sanitization,
                        &label.name);
        AppendLabelValue(kv.value(), &label.value);
        if (!label.value.empty()) overrides_.push_back(std::move(label));
      }
      if (!scope.name().empty()) overrides_.push_back({"otel_scope_name", scope.name()});
      if (!scope.version().empty()) overrides_.push_back({"otel_scope_version", scope.version()});
      if (!scope_metrics.schema_url().empty()) {
        overrides_.push_back({"otel_scope_schema_url", scope_metrics.schema_url()});
      }
    }
    overrides_.insert(overrides_.end(), resource_labels_.begin(), resource_labels_.end());
    SortedRefs(overrides_, &override_refs_);
  }

  static uint64_t LatestTimestamp(const pb::metrics::Metric& metric) {
    uint64_t latest = 0;
    auto scan = [&](const auto& points) {
      for (const auto& point : points) latest = std::max(latest, point.time_unix_nano());
    };
    switch (metric.data_case()) {
      case pb::metrics::Metric::kGauge:
        scan(metric.gauge().data_points());
        break;
      case pb::metrics::Metric::kSum:
        scan(metric.sum().data_points());
        break;
      case pb::metrics::Metric::kHistogram:
        scan(metric.histogram().data_points());
        break;
      case pb::metrics::Metric::kExponentialHistogram:
        scan(metric.exponential_histogram().data_points());
        break;
      case pb::metrics::Metric::kSummary:
        scan(metric.summary().data_points());
        break;
      case pb::metrics::Metric::DATA_NOT_SET:
        break;
    }
    return latest;
  }

  void TranslateMetric(const pb::metrics::Metric& metric) {
    using pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
    using pb::metrics::Metric;
    const std::string name =
        PromMetricName(metric, settings_.metric_namespace, settings_.add_metric_suffixes);
    if (settings_.send_metadata) AddMetadata(metric, name);

    int points = 0;
    bool cumulative = true;
    switch (metric.data_case()) {
      case Metric::kGauge:
        points = metric.gauge().data_points_size();
        break;
      case Metric::kSum:
        points = metric.sum().data_points_size();
        cumulative = metric.sum().aggregation_temporality() == AGGREGATION_TEMPORALITY_CUMULATIVE;
        break;
      case Metric::kHistogram:
        points = metric.histogram().data_points_size();
        cumulative =
            metric.histogram().aggregation_temporality() == AGGREGATION_TEMPORALITY_CUMULATIVE;
        break;
      case Metric::kExponentialHistogram:
        points = metric.exponential_histogram().data_points_size();
        cumulative = metric.exponential_histogram().aggregation_temporality() ==
                     AGGREGATION_TEMPORALITY_CUMULATIVE;
        break;
      case Metric::kSummary:
        points = metric.summary().data_points_size();
        break;
      case Metric::DATA_NOT_SET:
        errors_->push_back("unsupported metric type");
        return;
    }
    if (!cumulative) {
      errors_->push_back("invalid temporality and type combination for metric " +
                         Quote(metric.name()));
      *dropped_points_ += points;
      return;
    }
    if (points == 0) {
      errors_->push_back("empty data points. " + metric.name() + " is dropped");
      return;
    }
    switch (metric.data_case()) {
      case Metric::kGauge:
        AddNumberPoints(metric.gauge().data_points(), name);
        break;
      case Metric::kSum:
        AddNumberPoints(metric.sum().data_points(), name);
        break;
      case Metric::kHistogram:
        AddHistogramPoints(metric.histogram().data_points(), name);
        break;
      case Metric::kExponentialHistogram:
        AddExponentialPoints(metric.exponential_histogram().data_points(), name);
        break;
      case Metric::kSummary:
        AddSummaryPoints(metric.summary().data_points(), name);
        break;
      case Metric::DATA_NOT_SET:
        break;
    }
  }

  void AddMetadata(const pb::metrics::Metric& metric, const std::string& family) {
    using pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
    using pb::metrics::Metric;
    using Type = PromMetricType;
    if (!families_.insert(family).second) return;
    Type type = Type::kUnknown;
    switch (metric.data_case()) {
      case Metric::kGauge:
        type = Type::kGauge;
        break;
      case Metric::kSum:
        type = metric.sum().is_monotonic() ? Type::kCounter : Type::kGauge;
        break;
      case Metric::kHistogram:
        type = metric.histogram().aggregation_temporality() == AGGREGATION_TEMPORALITY_CUMULATIVE
                   ? Type::kHistogram
                   : Type::kGaugeHistogram;
        break;
      case Metric::kExponentialHistogram:
        type = metric.exponential_histogram().aggregation_temporality() ==
                       AGGREGATION_TEMPORALITY_CUMULATIVE
                   ? Type::kHistogram
                   : Type::kGaugeHistogram;
        break;
      case Metric::kSummary:
        type = Type::kSummary;
        break;
      case Metric::DATA_NOT_SET:
        break;
    }
    sink_->Metadata({type, family, metric.description(), metric.unit()});
  }

  // --- labels ---

  // Views of `labels` sorted by name, one per name: of equal names the later (in precedence
  // order) stays.
  static void SortedRefs(const std::vector<OwnedLabel>& labels, std::vector<LabelRef>* refs) {
    refs->clear();
    for (const OwnedLabel& label : labels) refs->push_back({label.name, label.value});
    StableSortSmall(refs->begin(), refs->end(), ByName);
    size_t kept = 0;
    for (size_t i = 0; i < refs->size(); ++i) {
      if (i + 1 < refs->size() && (*refs)[i + 1].name == (*refs)[i].name) continue;
      (*refs)[kept++] = (*refs)[i];
    }
    refs->resize(kept);
  }

  // out = the union of two label lists sorted by name; for a name in both, `second_wins` picks.
  static void MergeSorted(const std::vector<LabelRef>& first, const std::vector<LabelRef>& second,
                          bool second_wins, std::vector<LabelRef>* out) {
    out->clear();
    size_t i = 0;
    size_t j = 0;
    while (i < first.size() && j < second.size()) {
      if (Less(first[i].name, second[j].name)) {
        out->push_back(first[i++]);
      } else if (Less(second[j].name, first[i].name)) {
        out->push_back(second[j++]);
      } else {
        out->push_back(second_wins ? second[j] : first[i]);
        ++i, ++j;
      }
    }
    out->insert(out->end(), first.begin() + static_cast<ptrdiff_t>(i), first.end());
    out->insert(out->end(), second.begin() + static_cast<ptrdiff_t>(j), second.end());
  }

  // Fills base_ (sorted by name, without __name__) from attrs_ and the given overrides (sorted
  // refs): attributes sanitized, names shared by several keys joining the keys' differing values
  // with ';' in key order; then the overrides replace; then external labels fill what is
  // missing. Empty values are no label (Prometheus treats them so). Sorting by the sanitized
  // name brings colliding keys together, so only they are ever ordered by key; the per-scope
  // parts are sorted once, so the rest is two linear merges.
  void BuildBaseLabels(const std::vector<LabelRef>& overrides) {
    attr_labels_.clear();
    // Points of one metric usually repeat the previous point's keys in the same order; comparing
    // with those is cheaper than sanitizing or a cache lookup.
    if (previous_keys_.size() < attrs_.size()) {
      previous_keys_.resize(attrs_.size());
      previous_names_.resize(attrs_.size());
    }
    for (size_t i = 0; i < attrs_.size(); ++i) {
      const KeyValue* kv = attrs_[i];
      const std::string_view key = kv->key();
      std::string_view name;
      if (Equal(key, previous_keys_[i]) && !previous_names_[i].empty()) {
        name = previous_names_[i];
      } else {
        name = LabelNameOf(key);
        previous_keys_[i] = key;
        previous_names_[i] = name;
      }
      if (name.empty()) continue;
      const std::string_view value = ValueText(kv->value());
      if (value.empty()) continue;
      attr_labels_.push_back({name, value, key});
    }
    StableSortSmall(
        attr_labels_.begin(), attr_labels_.end(),
        [](const AttributeLabel& a, const AttributeLabel& b) { return Less(a.name, b.name); });
    base_.clear();
    for (size_t i = 0; i < attr_labels_.size();) {
      size_t end = i + 1;
      while (end < attr_labels_.size() && Equal(attr_labels_[end].name, attr_labels_[i].name)) {
        ++end;
      }
      if (end == i + 1) {
        base_.push_back({attr_labels_[i].name, attr_labels_[i].value});
      } else {
        base_.push_back({attr_labels_[i].name, JoinCollision(i, end)});
      }
      i = end;
    }
    if (!overrides.empty()) {
      MergeSorted(base_, overrides, /*second_wins=*/true, &merged_labels_);
      base_.swap(merged_labels_);
    }
    if (!external_refs_.empty()) {
      MergeSorted(base_, external_refs_, /*second_wins=*/false, &merged_labels_);
      base_.swap(merged_labels_);
    }
  }

  // The value of attr_labels_[begin, end), which share one label name: by original key, the
  // last of equal keys (the resource attribute copied over the point's), differing values
  // joined with ';'.
  std::string_view JoinCollision(size_t begin, size_t end) {
    const auto first = attr_labels_.begin() + static_cast<ptrdiff_t>(begin);
    const auto last = attr_labels_.begin() + static_cast<ptrdiff_t>(end);
    StableSortSmall(first, last,
                    [](const AttributeLabel& a, const AttributeLabel& b) { return a.key < b.key; });
    std::string joined;
    std::vector<std::string_view> seen;
    for (auto it = first; it != last; ++it) {
      if (it + 1 != last && (it + 1)->key == it->key) continue;
      if (std::find(seen.begin(), seen.end(), it->value) != seen.end()) continue;
      if (!seen.empty()) joined.push_back(';');
      joined.append(it->value);
      seen.push_back(it->value);
    }
    return pool_.Copy(joined);
  }

  // The label name of an attribute key: the key itself when already valid, else its sanitized
  // form, cached for the whole request because keys repeat from point to point (the cache keys
  // are views into the request, which outlives the translation).
  std::string_view LabelNameOf(std::string_view key) {
    const bool permissive = settings_.permissive_label_sanitization;
    if (IsCleanLabelName(key, permissive)) return key;
    auto [it, inserted] = label_names_.try_emplace(key);
    if (inserted) {
      scratch_.clear();
      AppendLabelName(key, permissive, &scratch_);
      it->second = names_pool_.Copy(scratch_);
    }
    return it->second;
  }

  void BuildPointLabels(const KeyValues& attributes) {
    pool_.Rewind();
    attrs_.clear();
    for (const KeyValue& kv : attributes) attrs_.push_back(&kv);
    attrs_.insert(attrs_.end(), promoted_.begin(), promoted_.end());
    BuildBaseLabels(override_refs_);
  }

  std::string_view ValueText(const AnyValue& value) {
    switch (value.value_case()) {
      case AnyValue::kStringValue:
        return value.string_value();
      case AnyValue::kBoolValue:
        return value.bool_value() ? "true" : "false";
      default:
        scratch_.clear();
        AppendLabelValue(value, &scratch_);
        return pool_.Copy(scratch_);
    }
  }

  // The series with base_ plus __name__ and an optional reserved label (le, quantile), which
  // replace attributes of the same names.
  PromSeriesRef Series(std::string_view metric_name, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
    full_.clear();
    for (const LabelRef& label : base_) {
      if (label.name != kNameLabel && label.name != extra_name) full_.push_back(label);
    }
    auto insert_sorted = [&](LabelRef label) {
      if (label.value.empty()) return;
      full_.insert(std::lower_bound(full_.begin(), full_.end(), label, ByName), label);
    };
    insert_sorted({kNameLabel, metric_name});
    if (!extra_name.empty()) insert_sorted({extra_name, extra_value});
    return sink_->Series(full_, HashLabels(full_));
  }

  void AddSample(PromSeriesRef series, double value, int64_t timestamp_ms) {
    sink_->Sample(series, timestamp_ms, value);
  }

  // trace_id and span_id as hex, then the filtered attributes unless all the label text would
  // pass 128 runes (Prometheus's exemplar label limit).
  void AddExemplar(PromSeriesRef series, const pb::metrics::Exemplar& exemplar) {
    exemplar_labels_.clear();
    size_t runes = 0;
    // An all-zero ID is no ID (pcommon's IsEmpty), as an empty one.
    auto add_id = [&](std::string_view name, const std::string& id) {
      if (std::all_of(id.begin(), id.end(), [](char c) { return c == '\0'; })) return;
      scratch_.clear();
      AppendHex(id, &scratch_);
      exemplar_labels_.push_back({name, pool_.Copy(scratch_)});
      runes += name.size() + scratch_.size();
    };
    add_id("trace_id", exemplar.trace_id());
    add_id("span_id", exemplar.span_id());
    const size_t ids = exemplar_labels_.size();
    for (const KeyValue& kv : exemplar.filtered_attributes()) {
      const std::string_view value = ValueText(kv.value());
      if (value.empty()) continue;
      const std::string_view name = LabelNameOf(kv.key());
      if (name.empty()) continue;
      exemplar_labels_.push_back({name, value});
      runes += CountRunes(name) + CountRunes(value);
    }
    if (runes > kMaxExemplarRunes) exemplar_labels_.resize(ids);
    // Sorted, and of equal names the first (the IDs, then attribute order) stays.
    StableSortSmall(exemplar_labels_.begin(), exemplar_labels_.end(), ByName);
    size_t kept = 0;
    for (size_t i = 0; i < exemplar_labels_.size(); ++i) {
      if (kept > 0 && exemplar_labels_[kept - 1].name == exemplar_labels_[i].name) continue;
      exemplar_labels_[kept++] = exemplar_labels_[i];
    }
    exemplar_labels_.resize(kept);
    PromExemplar out;
    out.value = exemplar.value_case() == pb::metrics::Exemplar::kAsInt
                    ? static_cast<double>(exemplar.as_int())
                    : exemplar.as_double();
    out.timestamp_ms = NanosToMillis(exemplar.time_unix_nano());
    out.labels = exemplar_labels_;
    sink_->Exemplar(series, out);
  }

  // --- data points ---

  void AddNumberPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>& points,
      const std::string& name) {
    for (const auto& point : points) {
      BuildPointLabels(point.attributes());
      const PromSeriesRef series = Series(name);
      double value = point.value_case() == pb::metrics::NumberDataPoint::kAsInt
                         ? static_cast<double>(point.as_int())
                         : point.as_double();
      if (point.flags() & kNoRecordedValue) value = PromStaleNaN();
      AddSample(series, value, NanosToMillis(point.time_unix_nano()));
      for (const auto& exemplar : point.exemplars()) AddExemplar(series, exemplar);
    }
  }

  void AddHistogramPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::HistogramDataPoint>& points,
      const std::string& name) {
    const std::string sum_name = name + "_sum";
    const std::string count_name = name + "_count";
    const std::string bucket_name = name + "_bucket";
    std::string le;
    for (const auto& point : points) {
      BuildPointLabels(point.attributes());
      const bool stale = point.flags() & kNoRecordedValue;
      const int64_t timestamp = NanosToMillis(point.time_unix_nano());
      const double count = stale ? PromStaleNaN() : static_cast<double>(point.count());
      if (point.has_sum()) {
        AddSample(Series(sum_name), stale ? PromStaleNaN() : point.sum(), timestamp);
      }
      AddSample(Series(count_name), count, timestamp);

      const int buckets = std::min(point.explicit_bounds_size(), point.bucket_counts_size());
      bucket_series_.clear();
      uint64_t cumulative = 0;
      for (int i = 0; i < buckets; ++i) {
        cumulative += point.bucket_counts(i);
        le.clear();
        AppendFloat(point.explicit_bounds(i), &le);
        const PromSeriesRef series = Series(bucket_name, "le", le);
        AddSample(series, stale ? PromStaleNaN() : static_cast<double>(cumulative), timestamp);
        bucket_series_.push_back(series);
      }
      const PromSeriesRef inf_series = Series(bucket_name, "le", "+Inf");
      AddSample(inf_series, count, timestamp);

      for (const auto& exemplar : point.exemplars()) {
        const double value = exemplar.value_case() == pb::metrics::Exemplar::kAsInt
                                 ? static_cast<double>(exemplar.as_int())
                                 : exemplar.as_double();
        PromSeriesRef series = inf_series;
        for (int i = 0; i < buckets; ++i) {
          if (point.explicit_bounds(i) >= value) {
            series = bucket_series_[static_cast<size_t>(i)];
            break;
          }
        }
        AddExemplar(series, exemplar);
      }
    }
  }

  void AddSummaryPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::SummaryDataPoint>& points,
      const std::string& name) {
    const std::string sum_name = name + "_sum";
    const std::string count_name = name + "_count";
    std::string quantile;
    for (const auto& point : points) {
      BuildPointLabels(point.attributes());
      const bool stale = point.flags() & kNoRecordedValue;
      const int64_t timestamp = NanosToMillis(point.time_unix_nano());
      AddSample(Series(sum_name), stale ? PromStaleNaN() : point.sum(), timestamp);
      AddSample(Series(count_name), stale ? PromStaleNaN() : static_cast<double>(point.count()),
                timestamp);
      for (const auto& value_at_quantile : point.quantile_values()) {
        quantile.clear();
        AppendFloat(value_at_quantile.quantile(), &quantile);
        AddSample(Series(name, "quantile", quantile),
                  stale ? PromStaleNaN() : value_at_quantile.value(), timestamp);
      }
    }
  }

  void AddExponentialPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::ExponentialHistogramDataPoint>& points,
      const std::string& name) {
    bool reported = false;
    for (const auto& point : points) {
      if (point.scale() < -4) {
        // The point is dropped; the metric's other points still go (one error per metric).
        if (!reported) {
          errors_->push_back(
              "cannot convert exponential to native histogram. Scale must be >= -4, was " +
              std::to_string(point.scale()));
          reported = true;
        }
        ++*dropped_points_;
        continue;
      }
      BuildPointLabels(point.attributes());
      const PromSeriesRef series = Series(name);
      PromHistogram histogram;
      int32_t schema = point.scale();
      int32_t scale_down = 0;
      if (schema > 8) {
        scale_down = schema - 8;
        schema = 8;
      }
      histogram.schema = schema;
      histogram.zero_threshold =
          point.zero_threshold() != 0 ? point.zero_threshold() : kDefaultZeroThreshold;
      histogram.timestamp_ms = NanosToMillis(point.time_unix_nano());
      // A stale marker stays an integer histogram, as the Collector sends it: the count holds
      // the stale NaN's bit pattern, sum the stale NaN; zero count and buckets as usual.
      if (point.flags() & kNoRecordedValue) {
        histogram.count = kStaleNaNBits;
        histogram.sum = PromStaleNaN();
      } else {
        histogram.count = point.count();
        if (point.has_sum()) histogram.sum = point.sum();
      }
      histogram.zero_count = point.zero_count();
      positive_spans_.clear();
      positive_deltas_.clear();
      negative_spans_.clear();
      negative_deltas_.clear();
      ConvertBuckets(point.positive(), scale_down, &positive_spans_, &positive_deltas_);
      ConvertBuckets(point.negative(), scale_down, &negative_spans_, &negative_deltas_);
      histogram.positive_spans = positive_spans_;
      histogram.positive_deltas = positive_deltas_;
      histogram.negative_spans = negative_spans_;
      histogram.negative_deltas = negative_deltas_;
      sink_->Histogram(series, histogram);
      for (const auto& exemplar : point.exemplars()) AddExemplar(series, exemplar);
    }
  }

  // OTel bucket i covers (base^(i+offset), base^(i+offset+1)], Prometheus bucket j covers
  // (base^(j-1), base^j]: j = i + offset + 1. Downscaling by `scale_down` merges 2^scale_down
  // neighbours (index >> scale_down). Empty buckets are left out; a run of at most two empty
  // buckets between filled ones is written as zeros, a longer run starts a new span.
  void ConvertBuckets(const pb::metrics::ExponentialHistogramDataPoint::Buckets& buckets,
                      int32_t scale_down, std::vector<PromBucketSpan>* spans,
                      std::vector<int64_t>* deltas) {
    merged_.clear();
    const int64_t offset = buckets.offset();
    // Past 62 every index of an int32 range lands in bucket 0 or -1 anyway; shifting by 64 or
    // more would be undefined.
    scale_down = std::min(scale_down, 62);
    for (int i = 0; i < buckets.bucket_counts_size(); ++i) {
      const uint64_t count = buckets.bucket_counts(i);
      if (count == 0) continue;
      const int64_t index = ((offset + i) >> scale_down) + 1;
      if (!merged_.empty() && merged_.back().first == index) {
        merged_.back().second += count;
      } else {
        merged_.emplace_back(index, count);
      }
    }
    int64_t previous_index = 0;
    uint64_t previous_count = 0;
    auto append = [&](uint64_t count) {
      ++spans->back().length;
      deltas->push_back(static_cast<int64_t>(count - previous_count));
      previous_count = count;
    };
    for (const auto& [index, count] : merged_) {
      if (spans->empty()) {
        spans->push_back({static_cast<int32_t>(index), 0});
      } else if (const int64_t gap = index - previous_index - 1; gap > 2) {
        spans->push_back({static_cast<int32_t>(gap), 0});
      } else {
        for (int64_t k = 0; k < gap; ++k) append(0);
      }
      append(count);
      previous_index = index;
    }
  }

  // One target_info per resource with descriptive attributes, when job or instance exists
  // to join on and some point gave a timestamp.
  void AddTargetInfo(const KeyValues& resource_attributes, uint64_t latest_nanos) {
    if (latest_nanos == 0 || resource_labels_.empty()) return;
    pool_.Rewind();
    attrs_.clear();
    for (const KeyValue& kv : resource_attributes) {
      if (!IsServiceAttribute(kv.key())) attrs_.push_back(&kv);
    }
    if (attrs_.empty()) return;
    BuildBaseLabels(resource_refs_);
    AddSample(Series(target_info_name_), 1, NanosToMillis(latest_nanos));
  }

  const PromTranslationSettings& settings_;
  PromSink* sink_;
  std::vector<std::string>* errors_;
  int64_t* dropped_points_;
  std::vector<OwnedLabel> external_labels_;  // sanitized, non-empty
  std::vector<LabelRef> external_refs_;      // sorted views of external_labels_
  std::string target_info_name_;

  // Per resource and scope.
  std::vector<OwnedLabel> resource_labels_;  // job, instance
  std::vector<LabelRef> resource_refs_;      // sorted views of resource_labels_
  std::vector<const KeyValue*> promoted_;    // resource attributes copied onto every point
  std::vector<OwnedLabel> overrides_;        // scope labels, job, instance
  std::vector<LabelRef> override_refs_;      // sorted views of overrides_

  // Per data point, reused.
  std::vector<const KeyValue*> attrs_;
  std::vector<AttributeLabel> attr_labels_;
  std::vector<LabelRef> base_;
  std::vector<LabelRef> merged_labels_;
  std::vector<LabelRef> full_;
  std::vector<LabelRef> exemplar_labels_;
  std::vector<PromSeriesRef> bucket_series_;
  std::vector<PromBucketSpan> positive_spans_;
  std::vector<int64_t> positive_deltas_;
  std::vector<PromBucketSpan> negative_spans_;
  std::vector<int64_t> negative_deltas_;
  std::vector<std::pair<int64_t, uint64_t>> merged_;
  std::string scratch_;
  TextPool pool_;  // rewound for each data point

  absl::flat_hash_map<std::string_view, std::string_view> label_names_;  // see LabelNameOf
  std::vector<std::string_view> previous_keys_;   // the keys of the last point, by position
  std::vector<std::string_view> previous_names_;  // and their label names
  TextPool names_pool_;                           // never rewound

  absl::flat_hash_set<std::string> families_;
};

}  // namespace

PromTranslation TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                                 const PromTranslationSettings& settings) {
  PromTranslation result;
  RemoteWriteSink<VectorOutput> sink{VectorOutput(&result)};
  Translator(settings, &sink, &result.errors, &result.dropped_points).Translate(request);
  return result;
}

void TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                      const PromTranslationSettings& settings, prometheus::WriteRequest* out,
                      std::vector<std::string>* errors, int64_t* dropped_points) {
  RemoteWriteSink<RequestOutput> sink{RequestOutput(out)};
  Translator(settings, &sink, errors, dropped_points).Translate(request);
}

void TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                      const PromTranslationSettings& settings, PromSink* sink,
                      std::vector<std::string>* errors, int64_t* dropped_points) {
  Translator(settings, sink, errors, dropped_points).Translate(request);
}

std::string PromMetricName(const pb::metrics::Metric& metric, std::string_view metric_namespace,
                           bool add_metric_suffixes) {
  if (!add_metric_suffixes) return SimpleMetricName(metric.name(), metric_namespace);

  std::vector<std::string_view> tokens;
  ForEachToken(metric.name(), [&](std::string_view token) { tokens.push_back(token); });
  auto has_token = [&](std::string_view word) {
    return std::find(tokens.begin(), tokens.end(), word) != tokens.end();
  };

  const std::string_view unit = metric.unit();
  const size_t slash = unit.find('/');
  const std::string main_unit = UnitToken(unit.substr(0, slash), /*per=*/false);
  if (!main_unit.empty() && !has_token(main_unit)) tokens.push_back(main_unit);
  const std::string per_unit =
      slash == std::string_view::npos ? std::string() : UnitToken(unit.substr(slash + 1), true);
  if (!per_unit.empty() && !has_token(per_unit)) {
    tokens.push_back("per");
    tokens.push_back(per_unit);
  }

  auto append_suffix = [&](std::string_view suffix) {
    tokens.erase(std::remove(tokens.begin(), tokens.end(), suffix), tokens.end());
    tokens.push_back(suffix);
  };
  if (metric.has_sum() && metric.sum().is_monotonic()) append_suffix("total");
  if (metric.unit() == "1" && metric.has_gauge()) append_suffix("ratio");

  std::string name(metric_namespace);
  for (std::string_view token : tokens) {
    if (!name.empty()) name.push_back('_');
    name.append(token);
  }
  if (!name.empty() && IsAsciiDigit(name[0])) name.insert(0, "_");
  return name;
}

std::string PromLabelName(std::string_view name, bool permissive) {
  std::string out;
  out.reserve(name.size() + 4);
  AppendLabelName(name, permissive, &out);
  return out;
}

std::string PromLabelValue(const pb::common::AnyValue& value) {
  std::string out;
  AppendLabelValue(value, &out);
  return out;
}

double PromStaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }

}  // namespace sprout::otlp
