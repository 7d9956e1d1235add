/* ipywidgets' HTML manager (embed.js) typesets widget labels with the MathJax 2 call
 *   MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])
 * but Sphinx serves MathJax 3, which has no Hub: every widget with a description then throws
 * "Cannot read properties of undefined (reading 'Queue')". embed.js renders on window "load";
 * MathJax 3 (a deferred script) exists by "DOMContentLoaded", so give it a Hub there that maps
 * the call onto MathJax 3's typesetPromise. Pages without math load no MathJax: nothing to do.
 */
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || !mj.version || mj.Hub) return;
  var ready = function () {
    return mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
  };
  mj.Hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (cmd) {
        if (!Array.isArray(cmd) || cmd[0] !== "Typeset") return;
        var element = cmd[2];
        ready()
          .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
          .catch(function (err) { console.warn("MathJax typeset of a widget failed:", err); });
      });
    },
  };
});
