// One message of the history: its content by kind (text, media preview or download, template,
// options offered or chosen, reaction, location), what it replies to, time, sender and ticks, and
// the sentence of a failure.
import { __ } from "../../shared/i18n";
import { formatBytes, formatFullTime, formatMessageTime } from "../core/format";
import { ticksLabel, ticksOf } from "../core/status";
import type { Media, Message } from "../core/types";
import { h, icon } from "./dom";
import { userName } from "./realtime";

export interface MessageContext {
  now: number;
  /** The text of a message by its wamid (what a reaction points at), when it is loaded. */
  textOfWamid(wamid: string): string | null;
}

const MEDIA_WORD: Record<string, () => string> = {
  image: () => __("Image"),
  sticker: () => __("Sticker"),
  audio: () => __("Voice message or audio"),
  video: () => __("Video"),
  document: () => __("Document"),
};

function mediaState(message: Message, media: Media): HTMLElement | null {
  const word = (MEDIA_WORD[message.kind] ?? (() => __("File")))();
  if (media.state === "too_large") {
    const size = formatBytes(media.size);
    return h("p", { class: "va-wa-media-note", "data-media-state": "too_large" }, icon("file"), size ? __("{0} too large to download ({1})", [word, size]) : __("{0} too large to download", [word]));
  }
  if (media.state === "failed") {
    return h("p", { class: "va-wa-media-note va-wa-media-failed", "data-media-state": "failed" }, icon("alert"), __("{0} could not be downloaded", [word]));
  }
  if (!media.url) {
    return h("p", { class: "va-wa-media-note", "data-media-state": media.state, role: "status" }, h("span", { class: "va-wa-spinner", "aria-hidden": "true" }), __("{0}: downloading…", [word]));
  }
  return null;
}

function mediaBlock(message: Message): HTMLElement | null {
  const media = message.media;
  if (!media) return null;
  const note = mediaState(message, media);
  if (note) return note;
  const url = media.url as string;
  const name = media.filename || url.split("/").pop() || __("file");
  const mime = media.mime_type ?? "";
  const kind = message.kind === "template" ? (mime.startsWith("image/") ? "image" : mime.startsWith("video/") ? "video" : "document") : message.kind;
  if (kind === "image" || kind === "sticker") {
    const img = h("img", { src: url, alt: message.text || name, loading: "lazy", class: kind === "sticker" ? "va-wa-sticker" : "va-wa-image" });
    return h("a", { href: url, target: "_blank", rel: "noopener", class: "va-wa-media-link", "aria-label": __("Open image {0}", [name]) }, img);
  }
  if (kind === "audio") return h("audio", { controls: true, preload: "metadata", src: url, class: "va-wa-audio", "aria-label": __("Audio {0}", [name]) });
  if (kind === "video") return h("video", { controls: true, preload: "metadata", src: url, class: "va-wa-video", "aria-label": __("Video {0}", [name]) });
  const size = formatBytes(media.size);
  return h(
    "a",
    { href: url, download: name, class: "va-wa-doc", target: "_blank", rel: "noopener" },
    icon("file", 20),
    h("span", { class: "va-wa-doc-name" }, name),
    size ? h("span", { class: "va-wa-doc-size" }, size) : null,
    h("span", { class: "va-wa-sr" }, __("Download")),
  );
}

function ticks(message: Message): HTMLElement | null {
  const state = ticksOf(message);
  if (state === "none") return null;
  const label = ticksLabel(message);
  const when = message.status_at[state as "sent" | "delivered" | "read" | "failed"];
  const title = when ? `${label} · ${formatFullTime(when)}` : label;
  const glyph = state === "pending" ? icon("clock", 14) : state === "sent" ? icon("check", 14) : state === "failed" ? icon("alert", 14) : icon("checks", 14);
  return h("span", { class: "va-wa-ticks", "data-ticks": state, role: "img", "aria-label": label, title }, glyph);
}

function body(message: Message, ctx: MessageContext): (Node | null)[] {
  const parts: (Node | null)[] = [];
  if (message.kind === "template" && message.template) {
    parts.push(h("p", { class: "va-wa-kind" }, icon("template", 14), __("Template {0} ({1})", [message.template.name, message.template.language])));
  }
  if (message.kind === "reaction" && message.reaction) {
    const target = message.reaction.to ? ctx.textOfWamid(message.reaction.to) : null;
    const emoji = message.reaction.emoji;
    parts.push(
      h(
        "p",
        { class: "va-wa-reaction" },
        emoji ? h("span", { class: "va-wa-emoji" }, emoji) : null,
        emoji ? (target ? __("reacted to “{0}”", [target]) : __("reacted to a message")) : __("removed a reaction"),
      ),
    );
    return parts;
  }
  parts.push(mediaBlock(message));
  if (message.kind === "location" && message.location) {
    const { latitude, longitude, name, address } = message.location;
    const href = `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=16/${latitude}/${longitude}`;
    parts.push(
      h(
        "a",
        { href, target: "_blank", rel: "noopener", class: "va-wa-location" },
        icon("pin"),
        h("span", {}, name || address || `${latitude.toFixed(5)}, ${longitude.toFixed(5)}`),
        name && address ? h("span", { class: "va-wa-location-address" }, address) : null,
      ),
    );
  } else if (message.text) {
    parts.push(h("p", { class: "va-wa-text" }, message.text));
  }
  const interactive = message.interactive;
  if (interactive?.options?.length) {
    parts.push(
      h(
        "ul",
        { class: "va-wa-options", "aria-label": __("Options offered") },
        ...interactive.options.map((o) => h("li", { "data-chosen": String(o.id === interactive.chosen) }, o.title, o.description ? h("small", {}, o.description) : null)),
      ),
    );
  } else if (interactive?.chosen && message.direction === "inbound") {
    parts.push(h("p", { class: "va-wa-chosen" }, __("Chose an option")));
  }
  if ((message.kind === "unsupported" || message.kind === "unknown") && !message.text) {
    parts.push(h("p", { class: "va-wa-text va-wa-muted" }, __("A message the desk cannot show.")));
  }
  return parts;
}

/** The list item of one message; `data-name`/`data-status` let pushes find and restyle it. */
export function renderMessage(message: Message, ctx: MessageContext): HTMLLIElement {
  const outbound = message.direction === "outbound";
  const who = outbound ? (message.bot_reply ? __("Bot") : message.sent_by ? userName(message.sent_by) : __("You")) : __("Customer");
  const reply = message.reply_to
    ? h("blockquote", { class: "va-wa-quote", "data-reply-to": message.reply_to.name ?? "" }, message.reply_to.text || __("An earlier message"))
    : null;
  const error = message.error?.message
    ? h(
        "p",
        { class: `va-wa-error${message.error.retrying ? " va-wa-error-retrying" : ""}`, "data-error-code": message.error.code ?? "" },
        icon("alert", 14),
        h("span", {}, message.error.retrying ? __("Will try again: {0}", [message.error.message]) : message.error.message),
      )
    : null;
  const time = formatMessageTime(message.created_at, ctx.now);
  const li = h(
    "li",
    {
      class: `va-wa-msg va-wa-${message.direction}`,
      "data-name": message.name,
      "data-status": message.status,
      "data-kind": message.kind,
      tabindex: -1,
    },
    h(
      "div",
      { class: "va-wa-bubble" },
      h("span", { class: "va-wa-sr" }, outbound ? __("You sent:") : __("Customer wrote:")),
      reply,
      ...body(message, ctx),
      h(
        "p",
        { class: "va-wa-meta" },
        outbound ? h("span", { class: "va-wa-sender" }, who) : null,
        h("time", { datetime: message.created_at, title: formatFullTime(message.created_at) }, time),
        ticks(message),
      ),
      error,
    ),
    message.wamid
      ? h("button", { type: "button", class: "va-wa-reply-btn", tabindex: -1, "data-action": "reply", "aria-label": __("Reply"), title: __("Reply (R)") }, icon("reply", 14))
      : null,
  );
  return li;
}
