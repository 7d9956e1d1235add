"""Event handlers in a Markdown answer: <img onerror>, <svg onload>, <details ontoggle>,
<body onload> and an autofocus onfocus, each setting the marker and writing a file.

cell: task4_vmax_answer
fails:
plain: same
"""
`vmax` caps the colour scale at $x_{\max}$, so rare spikes stay visible.

<img src="x" onerror="window.__pwned=(window.__pwned||0)+1;fetch('/api/contents/pwned-35.txt',{method:'PUT',headers:{'X-XSRFToken':(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||''},body:JSON.stringify({type:'file',format:'text',content:'x'})})">

<svg onload="window.__pwned=(window.__pwned||0)+1"><circle r="5" /></svg>

<details open ontoggle="window.__pwned=(window.__pwned||0)+1"><summary>more</summary>text</details>

<input autofocus onfocus="window.__pwned=(window.__pwned||0)+1">

<img src="http://203.0.113.7/pixel.png" alt="tracking pixel">
