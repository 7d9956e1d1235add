"""The student's saved output is an SVG image with an onload handler and a <script> inside.

cell: task2_lif_solution
output: image/svg+xml
fails:
plain: same
"""
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="window.__pwned=(window.__pwned||0)+1"><script>window.__pwned=(window.__pwned||0)+1</script><circle r="5"/></svg>
