// The application's Deepkit ORM database. The queue is stored in it as well
// (BrokerQueueModule.forDatabase(AppDatabase)): one database to configure.
// EXAMPLE_DATABASE: a SQLite file (default var/app.sqlite) or a postgres:// URL.
import { Database } from '@deepkit/orm';
import { PostgresDatabaseAdapter } from '@deepkit/postgres';
import { SQLiteDatabaseAdapter } from '@deepkit/sqlite';
import { AutoIncrement, entity, Index, PrimaryKey } from '@deepkit/type';

@entity.name('registered_user')
export class RegisteredUser {
    constructor(public id: number & PrimaryKey, public username: string) {
    }
}

@entity.name('welcome_mail')
export class WelcomeMail {
    id: number & PrimaryKey & AutoIncrement = 0;
    createdAt: Date = new Date();
    constructor(public userId: number & Index) {
    }
}

export class AppDatabase extends Database {
    constructor() {
        const target = process.env.EXAMPLE_DATABASE ?? 'var/app.sqlite';
        super(target.startsWith('postgres') ? new PostgresDatabaseAdapter(target) : new SQLiteDatabaseAdapter(target), [RegisteredUser, WelcomeMail]);
    }
}
