// Run page metric charts, drawn with uPlot (installed from npm by `make install`,
// served by Beacon itself: no CDN, no inline code under the CSP).
//
// Each <figure data-chart data-series-url=…> fetches its metric's series: LTTB-
// downsampled finite points, non-finite values (NaN, ±Infinity) apart as marks,
// automation thresholds and firings. Drawn: the line (broken where a value is not
// finite), dashed threshold lines, purple lines where an automation fired, red
// ticks under non-finite values. Hover shows the step and value in the legend;
// dragging zooms in (fetching the zoomed steps in detail), double-click zooms out.
// When drawn, the figure gets data-ready="true" and data-render-ms (ms since the
// page started loading).
(function () {
  "use strict";

  var COLORS = { line: "#1f4fd1", threshold: "#9a6700", marker: "#8250df", nonfinite: "#cf222e" };
  var NONFINITE_LISTED = 10;

  function fmt(v) {
    if (v == null) { return "—"; }
    return Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(5));
  }

  // uPlot's columns: steps, and values with null where a value is not finite (a gap).
  function columns(series) {
    var steps = [], values = [];
    var s = series.steps, v = series.values, bad = series.nonfinite;
    var i = 0, j = 0;
    while (i < s.length || j < bad.length) {
      if (j >= bad.length || (i < s.length && s[i] <= bad[j].step)) {
        steps.push(s[i]); values.push(v[i]); i++;
      } else {
        steps.push(bad[j].step); values.push(null); j++;
      }
    }
    return [steps, values];
  }

  function nonfiniteByStep(series) {
    var bad = {};
    series.nonfinite.forEach(function (m) { bad[m.step] = m.value; });
    return bad;
  }

  function yRange(thresholds) {
    return function (u, min, max) {
      var lo = min, hi = max;
      thresholds.forEach(function (t) {
        lo = lo == null ? t.value : Math.min(lo, t.value);
        hi = hi == null ? t.value : Math.max(hi, t.value);
      });
      if (lo == null) { return [0, 1]; }
      return uPlot.rangeNum(lo, hi, 0.1, true);
    };
  }

  // Thresholds, automation firings and non-finite ticks, over the plotting area.
  function marksPlugin(state) {
    return {
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx, b = u.bbox, px = window.devicePixelRatio || 1;
          var xMin = u.scales.x.min, xMax = u.scales.x.max;
          ctx.save();
          ctx.beginPath(); ctx.rect(b.left, b.top, b.width, b.height); ctx.clip();
          ctx.lineWidth = 1.5 * px;
          ctx.strokeStyle = COLORS.threshold; ctx.setLineDash([5 * px, 4 * px]);
          state.series.thresholds.forEach(function (t) {
            var y = Math.round(u.valToPos(t.value, "y", true));
            ctx.beginPath(); ctx.moveTo(b.left, y); ctx.lineTo(b.left + b.width, y); ctx.stroke();
          });
          ctx.setLineDash([]);
          ctx.strokeStyle = COLORS.marker;
          state.series.markers.forEach(function (m) {
            if (m.step < xMin || m.step > xMax) { return; }
            var x = Math.round(u.valToPos(m.step, "x", true));
            ctx.beginPath(); ctx.moveTo(x, b.top); ctx.lineTo(x, b.top + b.height); ctx.stroke();
          });
          ctx.lineWidth = 2 * px; ctx.strokeStyle = COLORS.nonfinite;
          state.series.nonfinite.forEach(function (m) {
            if (m.step < xMin || m.step > xMax) { return; }
            var x = Math.round(u.valToPos(m.step, "x", true));
            ctx.beginPath(); ctx.moveTo(x, b.top + b.height - 10 * px); ctx.lineTo(x, b.top + b.height); ctx.stroke();
          });
          ctx.restore();
        }],
      },
    };
  }

  function describeNonfinite(figure, series) {
    var el = figure.querySelector(".chart-nonfinite");
    if (!el) { return; }
    if (!series.nonfinite_count) { el.hidden = true; el.textContent = ""; return; }
    var listed = series.nonfinite.slice(0, NONFINITE_LISTED).map(function (m) {
      return m.value + " at step " + m.step;
    });
    var more = series.nonfinite_count - listed.length;
    el.textContent = "Red tick" + (series.nonfinite_count === 1 ? "" : "s") + ": " +
      series.nonfinite_count + " value" + (series.nonfinite_count === 1 ? "" : "s") +
      " not finite (" + listed.join("; ") + (more > 0 ? "; " + more + " more" : "") + ").";
    el.hidden = false;
  }

  function fetchSeries(figure, params) {
    var url = new URL(figure.getAttribute("data-series-url"), window.location.href);
    url.searchParams.set("points", figure.getAttribute("data-points") || "1000");
    Object.keys(params || {}).forEach(function (k) { url.searchParams.set(k, params[k]); });
    return fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.json();
      });
  }

  function size(plot) {
    var width = Math.max(plot.clientWidth, 200);
    return { width: width, height: width < 480 ? 200 : 240 };
  }

  function draw(figure, full) {
    var plot = figure.querySelector(".chart-plot");
    var status = plot.querySelector(".chart-status");
    if (status) { status.remove(); }
    var state = { series: full, full: full, quiet: false, request: 0, bad: nonfiniteByStep(full) };
    var dims = size(plot);
    var opts = {
      width: dims.width,
      height: dims.height,
      scales: { x: { time: false }, y: { range: yRange(full.thresholds) } },
      cursor: { drag: { x: true, y: false, setScale: true }, bind: { dblclick: function () { return null; } } },
      legend: { live: true },
      axes: [
        { values: function (u, ticks) { return ticks.map(function (t) { return String(t); }); } },
        { size: 56, values: function (u, ticks) { return ticks.map(fmt); } },
      ],
      series: [
        { label: "step", value: function (u, v) { return v == null ? "—" : String(v); } },
        {
          label: full.metric,
          stroke: COLORS.line,
          width: 1.6,
          spanGaps: false,
          // A gap in the line is a non-finite value: hovering it names it.
          value: function (u, v, si, idx) {
            if (v == null && idx != null) { return state.bad[u.data[0][idx]] || "—"; }
            return fmt(v);
          },
        },
      ],
      plugins: [marksPlugin(state)],
    };
    var u = new uPlot(opts, columns(full), plot);

    function show(series, resetScales) {
      var min = u.scales.x.min, max = u.scales.x.max;
      state.series = series;
      state.bad = nonfiniteByStep(series);
      state.quiet = true;
      u.setData(columns(series), resetScales);
      // Keep the zoomed steps, with the value axis fitted to the detail.
      if (!resetScales) { u.setScale("x", { min: min, max: max }); }
      state.quiet = false;
      describeNonfinite(figure, series);
    }

    // Zoomed in: fetch the visible steps in detail (the full series is downsampled).
    function showRange() {
      figure.setAttribute("data-x-min", String(u.scales.x.min));
      figure.setAttribute("data-x-max", String(u.scales.x.max));
    }
    u.hooks.setScale = [function (uu, key) {
      if (key === "x") { showRange(); }
      if (key !== "x" || state.quiet || !full.downsampled) { return; }
      var min = Math.floor(uu.scales.x.min), max = Math.ceil(uu.scales.x.max);
      var request = ++state.request;
      fetchSeries(figure, { start: min, end: max }).then(function (detail) {
        if (request !== state.request) { return; }
        show(detail, false);
      }).catch(function () { /* keep the downsampled line */ });
    }];
    u.over.addEventListener("dblclick", function () {
      state.request++;
      show(full, true);
    });

    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var d = size(plot);
        if (d.width !== u.width || d.height !== u.height) { u.setSize(d); }
      }).observe(plot);
    }
    describeNonfinite(figure, full);
    showRange();
    figure.setAttribute("data-drawn-points", String(full.steps.length));
    figure.setAttribute("data-render-ms", String(Math.round(performance.now())));
    figure.setAttribute("data-ready", "true");
  }

  function fail(figure, message) {
    var status = figure.querySelector(".chart-status");
    if (status) { status.textContent = message; }
    figure.setAttribute("data-error", message);
  }

  function start() {
    var figures = document.querySelectorAll("figure[data-chart]");
    if (!figures.length) { return; }
    if (typeof window.uPlot !== "function") {
      figures.forEach(function (f) { fail(f, "The chart library (uPlot) is missing: run make install."); });
      return;
    }
    figures.forEach(function (figure) {
      fetchSeries(figure).then(function (series) { draw(figure, series); })
        .catch(function (err) { fail(figure, "Could not load the chart (" + err.message + ")."); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
