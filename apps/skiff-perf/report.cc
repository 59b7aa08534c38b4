#include "skiff-perf/report.hh"

#include <algorithm>
#include <cmath>

#include "skiff-perf/json.hh"

namespace perf {

void Output::line(const char* fmt, ...) {
  if (!texting()) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(text, fmt, ap);
  va_end(ap);
  fputc('\n', text);
  fflush(text);
}

namespace {

std::string adaptive(double v, double base, const char* const* units, size_t nunits) {
  size_t u = 0;
  while (v >= base && u + 1 < nunits) {
    v /= base;
    ++u;
  }
  char b[48];
  const char* fmt = v < 9.995 ? "%4.2f %s" : v < 99.95 ? "%4.1f %s" : "%4.0f %s";
  snprintf(b, sizeof b, fmt, v, units[u]);
  return b;
}

}  // namespace

std::string fmt_bytes(double bytes) {
  static const char* const units[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
  return adaptive(bytes, 1024, units, 5);
}

std::string fmt_bits(double bits) {
  static const char* const units[] = {"bits", "Kbits", "Mbits", "Gbits", "Tbits"};
  return adaptive(bits, 1000, units, 5);
}

std::string fmt_count(double v) {
  static const char* const units[] = {"", "K", "M", "G"};
  std::string s = adaptive(v, 1000, units, 4);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string fmt_ns(double ns) {
  char b[32];
  if (ns < 1000) {
    snprintf(b, sizeof b, "%.0f ns", ns);
  } else if (ns < 1e6) {
    snprintf(b, sizeof b, ns < 1e4 ? "%.2f us" : ns < 1e5 ? "%.1f us" : "%.0f us", ns / 1e3);
  } else if (ns < 1e9) {
    snprintf(b, sizeof b, ns < 1e7 ? "%.2f ms" : ns < 1e8 ? "%.1f ms" : "%.0f ms", ns / 1e6);
  } else {
    snprintf(b, sizeof b, "%.2f s", ns / 1e9);
  }
  return b;
}

namespace {

// A "nice" axis step (1, 2 or 5 times a power of ten) for about `ticks` divisions of `range`.
double nice_step(double range, int ticks) {
  if (range <= 0) return 1;
  const double raw = range / ticks;
  const double p = std::pow(10, std::floor(std::log10(raw)));
  const double f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

std::string escape_xml(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

bool write_svg_plot(const std::string& path, const std::string& title, const std::string& y_label,
                    const std::vector<PlotSeries>& series) {
  const double W = 800, H = 450, L = 80, R = 160, T = 40, B = 50;
  double xmax = 0, ymax = 0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
    }
  if (xmax <= 0) xmax = 1;
  // Scale y into engineering units so tick labels stay short.
  static const char* const prefixes[] = {"", "K", "M", "G", "T"};
  int pi = 0;
  double div = 1;
  while (ymax / div >= 1000 && pi < 4) {
    div *= 1000;
    ++pi;
  }
  const double ystep = nice_step(ymax / div, 5);
  const double ytop = std::max(ystep, std::ceil(ymax / div / ystep) * ystep);
  const double xstep = nice_step(xmax, 8);
  const double pw = W - L - R, ph = H - T - B;
  auto px = [&](double x) { return L + x / xmax * pw; };
  auto py = [&](double y) { return T + ph - (y / div) / ytop * ph; };
  static const char* const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

  FILE* f = fopen(path.c_str(), "w");
  if (!f) return false;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"%.0f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n", L + pw / 2,
          escape_xml(title).c_str());
  for (double y = 0; y <= ytop + ystep / 2; y += ystep) {
    const double yy = T + ph - y / ytop * ph;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, yy, L + pw, yy);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, yy + 4, y);
  }
  for (double x = 0; x <= xmax + xstep / 2; x += xstep) {
    const double xx = px(x);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", xx, T, xx, T + ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", xx, T + ph + 18, x);
  }
  fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n", L, T,
          pw, ph);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">time (s)</text>\n", L + pw / 2, H - 12);
  fprintf(f, "<text transform=\"translate(20 %.0f) rotate(-90)\" text-anchor=\"middle\">%s%s</text>\n", T + ph / 2,
          prefixes[pi], escape_xml(y_label).c_str());
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* c = colors[i % 10];
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
    for (const auto& [x, y] : s.points) fprintf(f, "%.1f,%.1f ", px(x), py(y));
    fprintf(f, "\"/>\n");
    for (const auto& [x, y] : s.points) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px(x), py(y), c);
    const double ly = T + 10 + static_cast<double>(i) * 18;
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"3\"/>\n", L + pw + 12,
            ly, L + pw + 32, ly, c);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", L + pw + 38, ly + 4, escape_xml(s.name).c_str());
  }
  fprintf(f, "</svg>\n");
  return fclose(f) == 0;
}

}  // namespace perf
