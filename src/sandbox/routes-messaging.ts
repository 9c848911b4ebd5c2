/**
 * The messaging API of seed 002: the key in a header named `api_key`; `sms` sends (a new `requestId` per call),
 * `messages/{requestId}` returns a message whose status progresses, and three dataset resources with a
 * `requestId` per record (204 when empty). Errors are `application/problem+json`.
 */
import { checkValue, headerValue } from './auth.ts';
import { jsonReply, noContentReply, problemReply, streamReply, type Reply } from './reply.ts';
import { messagingPaths, messagingResources, type MessagingResource } from './resources.ts';
import { authorize, type Route, type RouteContext } from './routing.ts';
import type { SandboxServices } from './services.ts';

/** The 5 routes. */
export function messagingRoutes(services: SandboxServices): Route[] {
  return [
    { method: 'GET', template: '/messaging/v1/sms', handle: (ctx) => sendSms(services, ctx) },
    {
      method: 'GET',
      template: '/messaging/v1/messages/{requestId}',
      handle: (ctx) => getMessage(services, ctx),
    },
    ...messagingResources.map((resource): Route => ({
      method: 'GET',
      template: messagingPaths[resource],
      handle: (ctx) => serveResource(services, resource, ctx),
    })),
  ];
}

function authorized(services: SandboxServices, ctx: RouteContext): boolean {
  return authorize(ctx, () => checkValue(headerValue(ctx.req, 'api_key'), services.settings.keys.messaging));
}

function unauthorized(ctx: RouteContext): Reply {
  const present = headerValue(ctx.req, 'api_key') !== undefined;
  return problemReply(
    401,
    'Unauthorized',
    present ? 'The api_key header is not valid.' : 'Missing the api_key header.',
  );
}

function sendSms(services: SandboxServices, ctx: RouteContext): Reply {
  if (!authorized(services, ctx)) return unauthorized(ctx);
  const params = ctx.url.searchParams;
  const to = params.get('to') ?? '';
  const from = params.get('from') ?? '';
  const missing = [to === '' ? 'to' : undefined, from === '' ? 'from' : undefined].filter(
    (name) => name !== undefined,
  );
  if (missing.length > 0) {
    return problemReply(400, 'Bad Request', `Missing required query parameter(s): ${missing.join(', ')}.`);
  }
  const sent = services.messaging.send({ to, from, message: params.get('message') ?? '' });
  return jsonReply(200, {
    data: {
      requestId: sent.requestId,
      status: 'ACCEPTED',
      to: sent.to,
      from: sent.from,
      submitDate: sent.submitDate,
      href: `${ctx.baseUrl}/messaging/v1/messages/${sent.requestId}`,
    },
  });
}

function getMessage(services: SandboxServices, ctx: RouteContext): Reply {
  if (!authorized(services, ctx)) return unauthorized(ctx);
  const requestId = ctx.params['requestId'] ?? '';
  const message = services.messaging.poll(requestId, ctx.baseUrl);
  if (message === undefined) {
    return problemReply(404, 'Not Found', `No message with requestId ${requestId} (unknown or expired).`);
  }
  return jsonReply(200, { data: message });
}

function serveResource(services: SandboxServices, resource: MessagingResource, ctx: RouteContext): Reply {
  if (!authorized(services, ctx)) return unauthorized(ctx);
  const { dataset } = services;
  const count = dataset.count(resource);
  if (count === 0) return noContentReply();
  return streamReply(() => dataset.bodyChunks(resource), { resource, start: 0, end: count });
}
