// MathJax 3 settings of the grader's pages (feedback HTML and formgrader), loaded before
// tex-chtml-full.js: TeX between $...$ and $$...$$ as in the notebook; no context menu.
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: { enableMenu: false },
};
