import { readWidgetConfig } from "./config";
import { VoiceAgentWidget } from "./widget";

declare global {
  interface Window {
    voiceAgentWidget?: VoiceAgentWidget;
  }
}

function boot(): void {
  const script =
    (document.currentScript as HTMLScriptElement | null) ??
    document.querySelector<HTMLScriptElement>("script[data-voice-agent-profile]");
  if (!script?.src || window.voiceAgentWidget) return;
  const widget = new VoiceAgentWidget(readWidgetConfig(script.dataset, script.src), document);
  window.voiceAgentWidget = widget;
  const mount = () => widget.mount(document.body);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
}

boot();
