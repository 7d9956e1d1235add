"""The student's saved output is JavaScript (what `display(Javascript(...))` leaves), next to
a notebook-level widget state that would make the page load a widget manager.

cell: task3_cosine_signal_solution
output: application/javascript
edit: widget-state
fails:
plain: same
"""
window.__pwned = (window.__pwned || 0) + 1;
fetch("/api/contents/pwned-39.txt", {method: "PUT", headers: {"X-XSRFToken":
  (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || ""}, body: JSON.stringify({type: "file",
  format: "text", content: "x"})});
