import "./portal.css";
import { UltravoxSession } from "ultravox-client";
import { createMethodCaller } from "../shared/frappe-call";
import { parseConfig } from "./config";
import { PortalPage } from "./app";
import { guardSession } from "./ultravox-guard";

declare global {
  interface Window {
    csrf_token?: string;
  }
}

const root = document.getElementById("va-app");
if (root) {
  const config = parseConfig(root.dataset.config);
  if (config.csrfToken) window.csrf_token = config.csrfToken;
  const page = new PortalPage(
    root,
    config,
    {
      caller: createMethodCaller(window.location.origin),
      getMicrophone: () => navigator.mediaDevices.getUserMedia({ audio: true }),
      createSession: (onFault) => guardSession(new UltravoxSession(), onFault),
      now: () => Date.now(),
    },
    window.location,
  );
  page.mount();
}
