/* Draw the book's interactive figures (backprop.labs.explore) with the
 * book's own plotly.min.js. Each figure is a div.bp-explore followed by its
 * JSON in <script type="application/json" class="bp-explore-spec">. The
 * static PNG beside it stays visible until the figure is drawn, so a reader
 * without JavaScript, or a failed draw, still sees the figure. */
(function () {
  "use strict";
  function draw(spec) {
    var div = document.getElementById(spec.getAttribute("data-for"));
    var wrap = div && div.closest(".bp-explore-wrap");
    if (!div || !window.Plotly || div.getAttribute("data-drawn")) return;
    div.setAttribute("data-drawn", "1");
    var fig = JSON.parse(spec.textContent);
    if (wrap) wrap.classList.add("bp-explore-live");
    window.Plotly.newPlot(div, fig.data, fig.layout, fig.config).then(function () {
      div.setAttribute("data-ready", "1");
    }, function (err) {
      if (wrap) wrap.classList.remove("bp-explore-live");
      console.warn("bp-explore: could not draw " + div.id + ": " + err);
    });
  }
  function drawAll() {
    document.querySelectorAll("script.bp-explore-spec").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
