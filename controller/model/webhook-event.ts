// A verified delivery as the webhook edge hands it on: what the daemon acts on and the status page reads job names from.
export interface WebhookEvent {
  name: string;
  deliveryId: string;
  payload: unknown;
  receivedAt: number;
}
