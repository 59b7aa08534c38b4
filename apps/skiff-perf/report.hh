#pragma once
// iperf3's report formatting: adaptive units ("1.09 GBytes", "9.35 Gbits/sec"), the fixed-width interval
// and summary lines, and the SVG plot.

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace perf {

// Where reports go: text lines to `text` (nullptr: quiet), or nothing but the final JSON document.
struct Output {
  FILE* text = stdout;
  bool json = false;
  void line(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  bool texting() const { return text && !json; }
};

// "1.09 GBytes" (powers of 1024) and "9.35 Gbits" (powers of 1000), iperf3's widths: %4.2f below 10,
// %4.1f below 100, %4.0f above.
std::string fmt_bytes(double bytes);
std::string fmt_bits(double bits);
// "1.23 M" (powers of 1000) for rates such as transactions/s.
std::string fmt_count(double v);
// Latency in adaptive units ("12.3 us", "1.20 ms").
std::string fmt_ns(double ns);

// One plotted series: y over x (seconds).
struct PlotSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
};
// Writes an SVG line chart; false with errno on I/O failure.
bool write_svg_plot(const std::string& path, const std::string& title, const std::string& y_label,
                    const std::vector<PlotSeries>& series);

}  // namespace perf
