// Go's number formatting, for output that must match the Go Collector's byte for byte.
//
// Which Go formatting a caller needs depends on the Go code it mirrors:
//  - strconv.FormatFloat(v, 'f', -1, 64): OTTL's string conversion of a float, Prometheus `le`
//    and `quantile` label values;
//  - fmt's %v of a float64 ('g', -1): the debug exporter's `normal` verbosity;
//  - fmt's %f ('f', 6): the debug exporter's `detailed` verbosity;
//  - encoding/json's float64 (the ES6 number form): JSON text of maps and slices;
//  - pdata's Value.AsString() of a double: the ES6 form too, and an error text for NaN and
//    infinities: attribute values as Prometheus label values and in the debug exporter.
//
// "Shortest" means the fewest significant digits that read back as the same double (the digits
// come from std::to_chars, which picks the same digits as Go's strconv except, possibly, when a
// shorter candidate lies exactly halfway between two doubles). Every Append* function appends to
// `out` and allocates only when `out` grows.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

namespace sprout {

// strconv.FormatFloat(v, fmt, prec, 64) for fmt 'e' and 'f' (prec -1 is the shortest form, else
// the number of decimals) and 'g' with prec -1 (the only 'g' any caller needs; another prec is
// treated as -1). 'f' never uses an exponent (1e300 is "1" and 300 zeros); 'e' writes at least two
// exponent digits ("1e+06", "1.5e-07"); 'g' with prec -1 uses 'e' when the decimal exponent is
// below -4 or at least 6 ("1e+06", "123456", "1e-05", "0.0001"). NaN is "NaN", infinities
// "+Inf" and "-Inf", negative zero "-0" (in every form).
void AppendGoFloat(double v, char fmt, int prec, std::string* out);
std::string GoFormatFloat(double v, char fmt, int prec);

// fmt.Sprint / %v of a float64 (strconv's 'g', -1; fmt keeps the '+' of "+Inf").
std::string GoSprintV(double v);

// fmt's %f of a float64: six decimals, "+Inf", "-Inf", "NaN".
std::string GoSprintF(double v);

// encoding/json's text of a float64: 'f', -1 when 1e-6 <= |v| < 1e21 or v is 0, else 'e', -1
// without the leading zero of a negative exponent ("1e-7", "1e+21"). Returns false and appends
// nothing for NaN and infinities, which encoding/json refuses.
bool AppendGoJsonFloat(double v, std::string* out);

// pdata's Value.AsString() of a double: the encoding/json text, and for NaN and infinities
// "json: unsupported value: " followed by 'g', -1 ("NaN", "+Inf", "-Inf").
void AppendPdataDouble(double v, std::string* out);
std::string PdataDoubleString(double v);

}  // namespace sprout
