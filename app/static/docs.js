// Swagger UI on this box's own document. validatorUrl is null because by default Swagger UI
// asks a public validator for a badge, a request that would leave the shop's network.
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
  });
});
