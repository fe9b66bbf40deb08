// Starts Swagger UI on /api/v1/docs: a file of this site, so the CSP needs no inline script.
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    domNode: root,
    deepLinking: true,
    tryItOutEnabled: false,
    // Nothing is fetched from other hosts: no validator badge.
    validatorUrl: null,
  });
});
