// Map pages: changing a control reloads the page with the new choice in the URL (permalink).
document.querySelectorAll("form.map-controls select").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
