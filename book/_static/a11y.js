/* Accessibility fixes for markup made by the theme and by dependencies (WCAG 2.1 AA, checked
 * with axe-core by tests/test_site_a11y.py). Every fix that is not in our own sources lives
 * here (the CSS half in a11y.css), once, loaded on every page through html_js_files in
 * _config.yml. Each fix says what it repairs; each is idempotent, so it is re-applied
 * whenever the page adds content (the widget manager renders the tau sliders after "load").
 */
(function () {
  "use strict";

  /* pydata-sphinx-theme's search buttons: aria-label "Search" hides the visible text
   * "Search Ctrl + K" (WCAG 2.5.3 label in name). Without the aria-label the name is the
   * visible text. */
  function searchButtons(root) {
    root.querySelectorAll(".search-button-field[aria-label]").forEach(function (b) {
      b.removeAttribute("aria-label");
    });
  }

  /* pydata-sphinx-theme's colour-mode button: the icons' titles ("Light", "Dark", "System
   * Settings") are part of its visible content but not of its name "Color mode" (WCAG
   * 2.5.3). The icons are decorative: hide them from assistive technology and drop their
   * titles, both the <i title> and the <svg><title> Font Awesome makes of it (whichever of
   * the two scripts runs first). */
  function themeButton(root) {
    root.querySelectorAll(".theme-switch-button .theme-switch").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("title");
      icon.removeAttribute("aria-labelledby");
      icon.querySelectorAll("title").forEach(function (t) { t.remove(); });
    });
  }

  /* pydata-sphinx-theme's navigation tree: the <summary> that opens a section's sub-pages
   * holds only an icon, so it has no name (WCAG 4.1.2). Name it after the section. */
  function navSummaries(root) {
    root.querySelectorAll("li.has-children > details > summary").forEach(function (s) {
      if (s.hasAttribute("aria-label")) return;
      var link = s.closest("li").querySelector(":scope > a");
      var title = link ? link.textContent.trim() : "this section";
      s.setAttribute("aria-label", "Pages of " + title);
    });
  }

  /* myst-nb's collapsed code cells: <summary aria-label="Toggle hidden content"> hides the
   * visible "Show code cell source" (WCAG 2.5.3). The visible text is a good name. */
  function cellToggles(root) {
    root.querySelectorAll('details.hide > summary[aria-label="Toggle hidden content"]')
      .forEach(function (s) { s.removeAttribute("aria-label"); });
  }

  /* docutils' citation list: role="list" whose entries have the deprecated DPUB role
   * "doc-biblioentry" (so the list has no list items: WCAG 1.3.1). Entries become items. */
  function citations(root) {
    root.querySelectorAll('[role="list"] > [role="doc-biblioentry"]').forEach(function (c) {
      c.setAttribute("role", "listitem");
    });
  }

  /* ipywidgets' sliders (noUiSlider in the HTML widget manager): the handle (role="slider")
   * has no name and its value text is the option's index. Name it by the widget's
   * description label and let it read the widget's readout (for a SelectionSlider the
   * option's label, e.g. "tau = 8 steps (8 ms)"), also when the readout is not shown. */
  function sliderText(widget) {
    var readout = widget.querySelector(".widget-readout");
    return readout ? readout.textContent.trim() : "";
  }

  var labelCount = 0;

  function sliderHandles(root) {
    root.querySelectorAll(".widget-slider").forEach(function (widget) {
      var handle = widget.querySelector('.noUi-handle[role="slider"]');
      var label = widget.querySelector(":scope > .widget-label");
      if (!handle) return;
      if (label && label.textContent.trim() && !handle.hasAttribute("aria-labelledby")) {
        label.id = label.id || "slider-label-" + (++labelCount);
        handle.setAttribute("aria-labelledby", label.id);
      }
      var text = sliderText(widget);
      if (text && handle.getAttribute("aria-valuetext") !== text) {
        handle.setAttribute("aria-valuetext", text);
      }
    });
  }

  var FIXES = [searchButtons, themeButton, navSummaries, cellToggles, citations, sliderHandles];

  function fixAll() {
    FIXES.forEach(function (fix) { fix(document); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fixAll();
    // later content (widgets, search results, icons swapped for SVG) and slider moves
    // (noUiSlider rewrites aria-valuetext, the readout changes): fix again
    new MutationObserver(fixAll).observe(document.body, {
      childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ["aria-valuetext"],
    });
  });
})();
