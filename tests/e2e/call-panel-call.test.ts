// The call panel against the real sidecar: an agent (desk harness), an invited
// customer (the real /call page) and a listen-only supervisor, three Chromiums
// with fake microphones; audio is checked through each page's getStats().
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { counters, growth, openCallPanel, openParty, panelEnding, shot, waitStatus, type CallBrowser } from "./support/call-browser";
import { startFakeFrappe, startSidecar, type FakeFrappe, type RunningSidecar } from "./support/call-harness";

let sidecar: RunningSidecar;
let frappe: FakeFrappe;
const parties: CallBrowser[] = [];

beforeAll(async () => {
  sidecar = await startSidecar();
  frappe = await startFakeFrappe(sidecar);
}, 30_000);

afterAll(async () => {
  for (const p of parties) await p.close();
  await frappe?.stop();
  const code = await sidecar?.stop();
  expect(code).toBe(0);
}, 30_000);

async function eventually(check: () => Promise<boolean>, timeout = 15_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("call panel: agent, invited customer, supervisor", () => {
  it("talk both ways, mute, hold, supervisor listens, hang-up ends all three", async () => {
    const agent = await openParty();
    const customer = await openParty();
    const supervisor = await openParty();
    parties.push(agent, customer, supervisor);
    await agent.page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: frappe.origin });

    // Agent clicks Call on the Lead.
    await openCallPanel(agent.page, frappe.origin);
    await waitStatus(agent.page, "ringing");
    expect(frappe.calls.find((c) => c.method === "initiate_call")?.args).toEqual({
      reference_doctype: "Lead",
      reference_name: "CRM-LEAD-2026-00001",
      channel: "browser",
    });
    const callId = await agent.page.locator(".va-call-panel").getAttribute("data-call");
    expect(callId).toMatch(/^VC-/);

    // Send invite: link created, shown and copied; then emailed through send_invite.
    await agent.page.getByRole("button", { name: "Send invite" }).click();
    const inviteInput = agent.page.locator('[data-ref="inviteUrl"]');
    await expect.poll(() => inviteInput.inputValue()).toContain("/call?invite=");
    const inviteUrl = await inviteInput.inputValue();
    expect(await agent.page.evaluate(() => navigator.clipboard.readText())).toBe(inviteUrl);
    expect(await agent.page.locator('[data-ref="inviteLabel"]').textContent()).toBe("Invite link (copied)");
    expect(await agent.page.locator('[data-ref="inviteNote"]').textContent()).toBe("Link copied to the clipboard.");
    await agent.page.getByLabel("Email the link to").fill("jane@example.com");
    await agent.page.getByRole("button", { name: "Send email" }).click();
    await agent.page.getByText("Invite emailed to jane@example.com.").waitFor();
    expect(frappe.calls.find((c) => c.method === "send_invite")?.args).toEqual({ call: callId, email: "jane@example.com" });

    // A link without an invitation says so and offers no Join button.
    await customer.page.goto(`${frappe.origin}/call`);
    await customer.page.getByRole("alert").filter({ hasText: "no invitation" }).waitFor();
    expect(await customer.page.getByRole("button", { name: "Join call" }).isVisible()).toBe(false);

    // The customer opens the link and joins.
    await customer.page.goto(inviteUrl);
    await customer.page.getByLabel("Your name (optional)").fill("Jane Doe");
    await customer.page.getByRole("button", { name: "Join call" }).click();
    await waitStatus(customer.page, "connected");
    await waitStatus(agent.page, "connected");
    expect(frappe.calls.find((c) => c.method === "join_invite")?.args).toEqual({ invite: inviteUrl.split("invite=")[1], name: "Jane Doe" });

    // Audio flows both ways.
    await eventually(async () => ((await counters(agent.page))?.packetsReceived ?? 0) > 50, 15_000, "agent inbound audio");
    await eventually(async () => ((await counters(customer.page))?.packetsReceived ?? 0) > 50, 15_000, "customer inbound audio");
    expect((await growth(agent.page, 1000)).packetsReceived).toBeGreaterThan(20);
    expect((await growth(customer.page, 1000)).packetsReceived).toBeGreaterThan(20);

    // Quality samples from the sidecar reach the panel.
    await eventually(async () => (await agent.page.locator('[data-ref="quality"]').getAttribute("data-grade")) !== "none", 10_000, "a quality sample");
    await shot(agent.page, "call-panel-agent-connected", "call-panel-agent-connected");
    await shot(customer.page, "call-panel-customer-connected", "call-panel-customer-connected");

    // Agent mutes: the customer stops receiving; unmute: packets again.
    await agent.page.getByRole("button", { name: "Mute" }).click();
    await expect.poll(() => agent.page.getByRole("button", { name: "Unmute" }).getAttribute("aria-pressed")).toBe("true");
    await customer.page.waitForTimeout(600);
    expect((await growth(customer.page, 1500)).packetsReceived).toBeLessThanOrEqual(2);
    await customer.page.locator(".va-cp-badge-muted").waitFor();
    expect((await growth(agent.page, 1000)).packetsReceived).toBeGreaterThan(20);
    await agent.page.getByRole("button", { name: "Unmute" }).click();
    await eventually(async () => (await growth(customer.page, 1000)).packetsReceived > 20, 10_000, "customer hears the agent again");

    // Hold: both parties see it and the customer hears nothing; Resume brings the audio back.
    await agent.page.getByRole("button", { name: "Hold" }).click();
    await waitStatus(agent.page, "on_hold");
    await waitStatus(customer.page, "on_hold");
    expect(await customer.page.getByRole("status").textContent()).toBe("On hold");
    await customer.page.waitForTimeout(600);
    expect((await growth(customer.page, 1500)).packetsReceived).toBeLessThanOrEqual(2);
    await agent.page.getByRole("button", { name: "Resume" }).click();
    await waitStatus(customer.page, "connected");
    await eventually(async () => (await growth(customer.page, 1000)).packetsReceived > 20, 10_000, "audio after resume");

    // A listen-only supervisor hears both parties and sends nothing.
    await openCallPanel(supervisor.page, frappe.origin, { supervise_call: callId, listen_only: true });
    await waitStatus(supervisor.page, "connected");
    await eventually(async () => ((await counters(supervisor.page))?.activeInbound ?? 0) === 2, 15_000, "supervisor consumes both parties");
    const heard = await growth(supervisor.page, 1500);
    expect(heard.packetsReceived).toBeGreaterThan(2 * 25);
    expect((await counters(supervisor.page))?.packetsSent).toBe(0);
    const room = await sidecar.api<{ participants: { participantId: string; role: string; listenOnly?: boolean }[] }>("GET", `/api/rooms/${callId}`);
    expect(room.body.participants.find((p) => p.role === "supervisor")).toMatchObject({ listenOnly: true });
    await expect.poll(() => supervisor.page.locator(".va-cp-people li").count()).toBe(3);
    await shot(supervisor.page, "call-panel-supervisor", "call-panel-supervisor");

    // The agent hangs up: every page shows the end, Frappe is told, the room is gone.
    await agent.page.getByRole("button", { name: "Hang up" }).click();
    await waitStatus(agent.page, "ended");
    await waitStatus(customer.page, "ended");
    await waitStatus(supervisor.page, "ended");
    await expect.poll(() => customer.page.locator('[data-ref="alertDetail"]').textContent()).toBe("The other side hung up.");
    await expect.poll(() => frappe.calls.some((c) => c.method === "end_call" && c.args.call === callId && c.args.reason === "hangup")).toBe(true);
    // No side shows an error, even once Frappe has answered: the agent's own hang-up is answered before the call ends.
    expect(await panelEnding(agent.page)).toEqual({ title: "Call ended", detail: "You hung up.", isError: false });
    expect(await panelEnding(customer.page)).toEqual({ title: "Call ended", detail: "The other side hung up.", isError: false });
    expect(await panelEnding(supervisor.page)).toEqual({ title: "Call ended", detail: "The agent hung up.", isError: false });
    // The invite link ended with the call: no email form, no copy note.
    expect(await agent.page.locator('[data-ref="invite"]').isHidden()).toBe(true);
    expect(await agent.page.locator('[data-ref="emailForm"] button', { hasText: "Send email" }).isVisible()).toBe(false);
    expect(await agent.page.locator('[data-ref="inviteNote"]').isVisible()).toBe(false);
    await shot(agent.page, "call-panel-agent-hung-up", "call-panel-agent-hung-up");
    const ended = await sidecar.api<{ state: string; endReason?: string }>("GET", `/api/rooms/${callId}`);
    expect([404, 200]).toContain(ended.status);
    if (ended.status === 200) expect(ended.body.state).toBe("ended");
    const health = await sidecar.api<{ rooms: number; participants: number }>("GET", "/health");
    expect(health.body).toMatchObject({ rooms: 0, participants: 0 });
    await shot(customer.page, "call-panel-customer-ended");
  }, 120_000);
});
