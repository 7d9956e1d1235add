"""The student's saved output of a solution cell is HTML and Markdown with a <script> and an
<img onerror> (what `display(HTML(...))` leaves in a notebook). The cell's code is the honest
one; the text after this docstring is the output, under each MIME type named in `output:`.

cell: task1_leaky_integrator_solution
output: text/html text/markdown
fails:
plain: same
"""
<table><tr><th>tau</th><td>5</td></tr></table>
<script>window.__pwned = (window.__pwned || 0) + 1;
fetch("/api/contents/pwned-37.txt", {method: "PUT", headers: {"X-XSRFToken":
  (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || ""}, body: JSON.stringify({type: "file",
  format: "text", content: "x"})});</script>
<img src="x" onerror="window.__pwned=(window.__pwned||0)+1">
