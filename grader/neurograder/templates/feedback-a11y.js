// The feedback page's language (nbgrader's template writes <html> without one): screen
// readers pick their voice from it. A file, not inline code: the page's policy forbids those.
document.documentElement.lang = "en";
