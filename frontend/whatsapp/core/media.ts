// What WhatsApp accepts as an attachment (the server's table, MEDIA_LIMITS in
// voice_agent/integrations/whatsapp/graph.py): checked when a file is chosen, so nobody waits for
// a 50 MB upload the server would refuse.
import { __ } from "../../shared/i18n";
import { formatBytes } from "./format";

const MB = 1024 * 1024;

export const MEDIA_LIMITS: Record<string, { types: readonly string[]; max: number }> = {
  image: { types: ["image/jpeg", "image/png"], max: 5 * MB },
  audio: { types: ["audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"], max: 16 * MB },
  video: { types: ["video/mp4", "video/3gpp"], max: 16 * MB },
  document: {
    types: [
      "text/plain",
      "application/pdf",
      "application/msword",
      "application/vnd.ms-excel",
      "application/vnd.ms-powerpoint",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ],
    max: 100 * MB,
  },
  sticker: { types: ["image/webp"], max: 500 * 1024 },
};

/** The `accept` list of the attachment input. */
export const ACCEPTED_TYPES = Object.values(MEDIA_LIMITS)
  .flatMap((l) => l.types)
  .join(",");

/** image | audio | video | document | sticker, from a mime type with or without parameters. */
export function mediaKind(mimeType: string): string | null {
  const essence = mimeType.split(";")[0]?.trim().toLowerCase() ?? "";
  for (const [kind, limit] of Object.entries(MEDIA_LIMITS)) if (limit.types.includes(essence)) return kind;
  return null;
}

/** Why WhatsApp would refuse this file, or null. */
export function attachmentProblem(file: { type: string; size: number; name: string }): string | null {
  const kind = mediaKind(file.type);
  if (!kind) return __("WhatsApp does not accept {0} files. Send an image (JPEG, PNG), audio, video (MP4), PDF or Office document.", [file.type || file.name.split(".").pop() || "?"]);
  if (file.size === 0) return __("The file is empty.");
  const limit = MEDIA_LIMITS[kind] as { max: number };
  if (file.size > limit.max) return __("The file is {0}; WhatsApp accepts {1} files up to {2}.", [formatBytes(file.size), kind, formatBytes(limit.max)]);
  return null;
}
