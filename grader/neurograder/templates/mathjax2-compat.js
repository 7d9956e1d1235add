// formgrader's formgrade.js was written for MathJax 2: it waits for the first typesetting
// through MathJax.Hub.Startup.signal (and throws without it, leaving its keyboard shortcuts
// unset). MathJax 3 offers MathJax.startup.promise instead; this maps the one onto the other.
// Loaded after tex-chtml-full.js, which has replaced window.MathJax by then.
window.MathJax.Hub = {
  Startup: {
    signal: {
      Interest: function (callback) {
        (MathJax.startup.promise || Promise.resolve()).then(function () { callback("End"); });
      },
    },
  },
  Queue: function () { return MathJax.typesetPromise(); },
};
