"""javascript: URLs and page-level HTML in a Markdown answer: links (Markdown and HTML), an
iframe, a form, <base>, <meta http-equiv=refresh>, an <object>, a remote style sheet, and
the noscript parser trick.

cell: task41_answer
fails:
plain: same
"""
The surface decays as $e^{-t/\tau}$ after each spike: [see why](javascript:window.__pwned=1).

<a id="jslink" href="javascript:window.__pwned=(window.__pwned||0)+1">click me</a>
<a href=" JaVaScRiPt:window.__pwned=1">also me</a>

<iframe src="javascript:parent.__pwned=(parent.__pwned||0)+1"></iframe>
<iframe srcdoc="<script>parent.__pwned=(parent.__pwned||0)+1</script>"></iframe>
<form action="javascript:window.__pwned=1"><button id="jsform">send</button></form>
<base href="http://203.0.113.7/">
<meta http-equiv="refresh" content="0; url=javascript:window.__pwned=1">
<object data="data:text/html,<script>parent.__pwned=1</script>"></object>
<link rel="stylesheet" href="http://203.0.113.7/style.css">
<style>body { background: url("http://203.0.113.7/bg.png"); }</style>

<noscript><p title="</noscript><img src=x onerror=window.__pwned=(window.__pwned||0)+1>"></noscript>
