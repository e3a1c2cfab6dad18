// Sign in with an API key: checked with GET /whoami, then kept in sessionStorage.

import { api, ApiError, auth } from "../api.js";
import { h, replace } from "../dom.js";

export function render(main, { message, onSignedIn }) {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-help",
  });
  const error = h("p", { class: "error", id: "signin-error", role: "alert" }, message ?? "");
  error.hidden = !message;
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", novalidate: true },
    h("h1", null, "Sign in"),
    h("p", null, "Use an ionstack API key (the same key as IONQ_API_KEY for the IonQ clients)."),
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { id: "api-key-help", class: "help" },
      "The key stays in this browser tab only (session storage) and is sent in the Authorization header.",
    ),
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = "Enter an API key.";
      error.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    error.hidden = true;
    try {
      const whoami = await api("/whoami", { key });
      auth.signIn(key, whoami.key_name || whoami.key_id);
      onSignedIn();
    } catch (failure) {
      error.textContent =
        failure instanceof ApiError && failure.status === 401
          ? "This key was not accepted (unknown or revoked)."
          : `Could not sign in: ${failure.message}`;
      error.hidden = false;
      button.disabled = false;
      input.focus();
    }
  });
  replace(main, form);
  input.focus();
  return null;
}
