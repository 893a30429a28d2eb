// A new token is selected whole as soon as its field gets focus, ready to copy.
document.querySelectorAll("input.token").forEach(function (field) {
  field.addEventListener("focus", function () { field.select(); });
});
