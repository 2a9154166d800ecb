import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import type { InboxRepository } from '#store';
import { ApiError } from '../http/errors.js';
import { INBOX } from '../tokens.js';
import { EventParams, EventsQuery } from './schemas.js';
import { validate } from './validate.js';
import { Access } from '../auth/access.js';

/** The inbox, for operators: what arrived, what failed and why, and replay of failed events. Admin scope. */
@Controller('api/v1/events')
export class EventsController {
  constructor(@Inject(INBOX) private readonly inbox: InboxRepository) {}

  @Access('admin')
  @Get()
  async list(@Query() q: unknown) {
    const { status, first, before } = validate(EventsQuery, q, 'query');
    const events = await this.inbox.list(status, first, before);
    return { events, nextCursor: events.length === first ? String(events.at(-1)!.id) : null };
  }

  @Access('admin')
  @Post(':id/replay')
  @HttpCode(202)
  async replay(@Param() p: unknown) {
    const { id } = validate(EventParams, p, 'path');
    if (!(await this.inbox.replay(id))) {
      throw new ApiError(404, 'not_found', `no failed or skipped event ${id}`);
    }
    return { id, status: 'pending' };
  }
}
