// The page's controller with a scripted stand-in for UltravoxSession, for the states the fake
// Ultravox cannot reach without a LiveKit media server (idle/listening/thinking/speaking, transcripts,
// the agent hanging up). The test drives it through window.fakeUltravox.
import { Medium, Role, Transcript, UltravoxSessionStatus, type UltravoxSession } from "ultravox-client";
import { createMethodCaller } from "../../frontend/shared/frappe-call";
import { parseConfig } from "../../frontend/portal/config";
import { PortalPage } from "../../frontend/portal/app";

class ScriptedSession extends EventTarget {
  status = UltravoxSessionStatus.DISCONNECTED;
  transcripts: Transcript[] = [];
  isMicMuted = false;
  isSpeakerMuted = false;
  joinedUrl = "";

  joinCall(url: string): void {
    this.joinedUrl = url;
    this.setStatus(UltravoxSessionStatus.CONNECTING);
  }
  async leaveCall(): Promise<void> {
    this.setStatus(UltravoxSessionStatus.DISCONNECTING);
    this.setStatus(UltravoxSessionStatus.DISCONNECTED);
  }
  muteMic(): void {
    this.isMicMuted = true;
  }
  unmuteMic(): void {
    this.isMicMuted = false;
  }
  muteSpeaker(): void {
    this.isSpeakerMuted = true;
  }
  unmuteSpeaker(): void {
    this.isSpeakerMuted = false;
  }
  setStatus(status: UltravoxSessionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.dispatchEvent(new Event("status"));
  }
  say(ordinal: number, speaker: "user" | "agent", text: string, isFinal: boolean): void {
    this.transcripts[ordinal] = new Transcript(text, isFinal, speaker === "agent" ? Role.AGENT : Role.USER, Medium.VOICE, ordinal);
    this.dispatchEvent(new Event("transcripts"));
  }
}

declare global {
  interface Window {
    fakeUltravox?: ScriptedSession;
  }
}

const root = document.getElementById("va-app");
if (root) {
  new PortalPage(
    root,
    parseConfig(root.dataset.config),
    {
      caller: createMethodCaller(window.location.origin),
      getMicrophone: () => navigator.mediaDevices.getUserMedia({ audio: true }),
      createSession: () => {
        window.fakeUltravox = new ScriptedSession();
        return window.fakeUltravox as unknown as UltravoxSession;
      },
      now: () => Date.now(),
    },
    window.location,
  ).mount();
}
