"""Deterministic generator of the labelled ticket set (data/tickets_train.csv, data/tickets_test.csv).

Synthetic and templated, on purpose: no real customer text may enter the repository.
Realism comes from many phrasings per tag, slot fillers, ticket structures (one-liners,
e-mails with signatures, forwarded mails, replies with quoted history, multi-issue lists),
tone (angry, polite, terse), spelling noise and a few non-English tickets.

Labels follow the rules a human triager uses (README, "How the ticket set was made"):
sarcastic praise is labelled with the area it complains about, never positive_feedback;
a ticket naming two areas gets the more urgent one (URGENCY below).

Held-out honesty: every fifth core phrasing of each tag (and of each hard-case kind) is
used only in the test file, so the test file contains wordings the model never saw.

Run: python data/generate.py   (same output on every run: seeded, no clock, no network)
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SEED = 20261127
TOTAL = 8000
TEST_SHARE = 0.25
HARD_SHARE = 0.14
HERE = Path(__file__).resolve().parent

# A plausible SaaS support mix: how-to and bugs dominate, security and churn are rarer.
TAG_SHARE = {
    "how_to": 0.20,
    "bug": 0.20,
    "billing": 0.16,
    "account_access": 0.14,
    "feature_request": 0.10,
    "positive_feedback": 0.08,
    "cancellation": 0.07,
    "security": 0.05,
}
# When a ticket names two areas, a human routes it to the more urgent one.
URGENCY = [
    "security",
    "cancellation",
    "billing",
    "account_access",
    "bug",
    "how_to",
    "feature_request",
    "positive_feedback",
]

SLOTS: dict[str, list[str]] = {
    "feature": [
        "dashboard",
        "reports page",
        "CSV export",
        "calendar sync",
        "Slack integration",
        "mobile app",
        "API",
        "webhooks",
        "invoice page",
        "team inbox",
        "kanban board",
        "time tracking",
        "search",
        "notifications",
        "file uploads",
        "PDF export",
        "analytics tab",
        "Zapier integration",
        "custom fields",
        "bulk edit",
        "audit log",
        "recurring tasks",
        "Gantt view",
        "templates",
        "comment threads",
        "admin console",
    ],
    "plan": ["Starter", "Pro", "Business", "Enterprise", "Team", "annual Pro", "Growth"],
    "amount": ["$49", "$99", "$19.99", "€59", "£45", "$1,188", "$240", "$12", "€299", "$79.00"],
    "browser": ["Chrome 131", "Firefox 133", "Safari 18", "Edge", "the desktop app", "Brave"],
    "device": ["iPhone 15", "Pixel 8", "iPad", "Galaxy S23", "MacBook", "Windows laptop"],
    "error": [
        "500 Internal Server Error",
        "Error 403",
        '"Something went wrong"',
        "ERR_TIMEOUT",
        "a 502 Bad Gateway",
        "TypeError: cannot read properties of undefined",
        "error code E-1042",
        '"Unexpected token < in JSON"',
        "a blank white screen",
        "a spinning wheel forever",
        "error 429 Too Many Requests",
    ],
    "n": ["2", "3", "4", "5", "two", "three", "several", "10", "15", "about 40"],
    "competitor": [
        "Asana",
        "Trello",
        "Monday",
        "ClickUp",
        "Notion",
        "Jira",
        "Basecamp",
        "a cheaper tool",
    ],
    "month": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"],
    "role": ["admin", "manager", "viewer", "guest", "billing contact", "workspace owner"],
    "format": ["CSV", "Excel", "PDF", "JSON", "iCal", "XML"],
    "country": [
        "Russia",
        "Brazil",
        "Nigeria",
        "Vietnam",
        "Romania",
        "China",
        "a country we've never been to",
    ],
    "idp": ["Okta", "Azure AD", "Google Workspace", "OneLogin", "JumpCloud"],
    "teammates": ["my team", "our 12 agents", "the sales team", "two new hires", "our contractors"],
}

FIRST = [
    "Ana",
    "Ben",
    "Carla",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kim",
    "Lee",
    "Max",
    "Nia",
    "Oli",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tomás",
    "Uma",
    "Vik",
    "Wen",
    "Yusuf",
    "Zoe",
    "Marta",
    "Jürgen",
    "Aiko",
    "Kwame",
    "Sofia",
    "Liam",
    "Chloé",
]
LAST = [
    "Silva",
    "Okafor",
    "Müller",
    "Nguyen",
    "Smith",
    "Garcia",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Tanaka",
    "Johansson",
    "Dubois",
    "Patel",
    "O'Brien",
    "Novak",
    "Costa",
]
COMPANY = [
    "Acme Corp",
    "Brightline",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella Labs",
    "Stark Logistics",
    "Bluebird Dental",
    "Pine & Co",
    "Helios GmbH",
    "Koala Studio",
    "Redwood Legal",
    "Tidal Health",
    "Quantum Bakery",
    "Orbit Travel",
]

# ---- core phrasings per tag (the part that carries the label) ---------------------------------

CORE: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for my {plan} subscription this month, two payments of {amount}.",
        "Our invoice for {month} shows {amount} but we are on the {plan} plan, which should be cheaper.",
        "Can you send me a copy of the invoice for {month}? I need it for our accountant.",
        "The invoice is missing our VAT number, please reissue it with our tax ID.",
        "My credit card was declined but the payment still went through on my bank statement.",
        "Please update the billing address on our account, we moved offices.",
        "We were billed for {n} seats but only use 6 of them.",
        "I upgraded to {plan} mid-cycle and got charged the full {amount} instead of the prorated amount.",
        "How do I change the credit card we pay with? The old one expires this month.",
        "I'd like a refund for the {amount} charge from {weekday}, I did not authorize the renewal.",
        "Why did my monthly price go up from {amount}? Nobody told us about a price change.",
        "The receipt email never arrived after I paid {amount}.",
        "We need invoices addressed to our finance department instead of me personally.",
        "The annual renewal charged {amount} even though we switched to monthly billing.",
        "Payment failed three times and now the account says it is past due.",
        "Can we pay by bank transfer instead of card? Our finance team needs a purchase order.",
        "There is a charge of {amount} on my statement that I don't recognize from your company.",
        "The coupon code from your newsletter was not applied at checkout.",
        "Our nonprofit discount disappeared from the last invoice.",
        "We are being charged sales tax although we are tax exempt, certificate attached.",
        "Please switch our billing currency from USD to EUR.",
        "The trial ended and you charged {amount} without any reminder email.",
        "I need a breakdown of the {amount} charge, the invoice only shows one line.",
        "Got billed for the {plan} plan after downgrading last month.",
        "Double charge on the card again, {amount} taken twice on the same day.",
        "our company card got charged {amount} for a workspace nobody here created",
        "Where can I download all invoices from last year for the tax return?",
        "The pricing page says {amount} per seat but we pay more than that.",
        "Please remove the credit card on file, we will pay by invoice from now on.",
        "Refund still hasn't shown up on my card, it has been 10 business days.",
    ],
    "account_access": [
        "I can't log in, the password reset link never arrives in my inbox.",
        "My account is locked after too many attempts, please unlock it.",
        "The two-factor code from my authenticator app is always rejected.",
        "I got a new phone and lost my 2FA codes, how can I get back into my account?",
        "SSO login through {idp} fails with {error}.",
        "The reset password email link says it has expired every time I click it.",
        "I changed my email address and now I can't sign in with either one.",
        "Login page just reloads after I enter my password, no error shown.",
        "Our {role} left the company and we need access to the workspace they owned.",
        "I'm stuck in a login loop on {browser}, it keeps sending me back to the sign in page.",
        "The verification code email takes hours to arrive so I can't sign in.",
        "I'm locked out of my account since this morning.",
        "Please reset the MFA on my account, I no longer have the device.",
        "We can't log in with {idp} since you changed something on {weekday}.",
        "The invite link for my new teammate says invalid or expired.",
        "My account says deactivated but I never asked for that, I need access back.",
        "Forgot which email I signed up with, can you help me recover the account?",
        "Magic link login opens the app but I stay logged out.",
        "I can't access the workspace anymore, it says I don't have permission.",
        "After the password change I keep getting 'invalid credentials'.",
        "Security key (YubiKey) is not recognized on the login screen any more.",
        "Need to transfer account ownership, the original owner can't log in.",
        "The mobile app logs me out every few minutes and I have to sign in again.",
        "cannot login on {device}, says session expired right after signing in",
        "I keep getting 'account not found' although I've used it for two years.",
        "Our whole team got logged out and nobody can sign back in with {idp}.",
        "The SMS code for login never comes to my phone.",
        "Please unlock the account for my colleague, she entered the wrong password too often.",
        "Password reset says my email isn't registered but I receive your newsletters there.",
        "I can get into the web app but the {device} app refuses my password.",
    ],
    "bug": [
        "The {feature} crashes with {error} every time I open it.",
        "Since the last update the {feature} shows {error} on {browser}.",
        "Exporting to {format} produces an empty file.",
        "The {feature} is not working, nothing happens when I click save.",
        "Calendar sync stopped working, events created yesterday don't show up.",
        "Uploading a file larger than 10 MB fails with {error}.",
        "The {feature} takes over a minute to load and then times out.",
        "Notifications are sent twice for every comment.",
        "Dates in the {feature} are shown in the wrong time zone.",
        "The {device} app freezes when I scroll the task list.",
        "Search returns no results even for tasks I can see on the board.",
        "Charts on the {feature} are blank since {weekday}.",
        "Drag and drop on the board doesn't work anymore in {browser}.",
        "The webhook fires but the payload is missing the custom fields.",
        "API returns {error} for the /tasks endpoint since this morning.",
        "Sorting by due date puts the tasks in a random order.",
        "Recurring tasks are duplicated every night.",
        "The {feature} page is broken on mobile, buttons overlap the text.",
        "When I attach an image to a comment it shows a broken image icon.",
        "Copy-paste from Excel into the table loses all line breaks.",
        "Saving a template deletes the checklist items.",
        "The {feature} doesn't load at all, just {error}.",
        "Emails from the team inbox arrive with garbled characters (Ã© instead of é).",
        "Report totals don't match the numbers in the export.",
        "I get {error} when I try to invite {teammates}.",
        "The app crashes on start on {device} after updating to the newest version.",
        "Filters on the {feature} reset every time I reload the page.",
        "Bulk edit only changes the first 50 items and silently skips the rest.",
        "The Slack integration posts every update three times.",
        "Time tracking keeps running after I stop the timer.",
    ],
    "how_to": [
        "How do I export my reports to {format}?",
        "Is there a way to invite {teammates} without giving them admin rights?",
        "Where can I change the {role} permissions for a user?",
        "How can I set up the {feature} for my team?",
        "What's the best way to move projects from {competitor} into your app?",
        "Can I use the API to create tasks from our CRM? Which endpoint should I use?",
        "How do I connect the Slack integration to a private channel?",
        "Is it possible to schedule reports to be emailed every {weekday}?",
        "Where do I find the audit log for my workspace?",
        "How can I archive a project without deleting it?",
        "How do I add custom fields to a board?",
        "What is the difference between a {role} and a member?",
        "Can you point me to the docs for setting up webhooks?",
        "How do I change the language of the interface?",
        "Is there a keyboard shortcut to create a new task?",
        "How can I restore a task that I deleted by mistake?",
        "How do I set working hours so that due dates skip weekends?",
        "Can I share a board with a client who does not have an account?",
        "Where do I configure email notifications so I only get mentions?",
        "How do I duplicate a project including all tasks?",
        "Is there a guide for importing users from a {format} file?",
        "How do I set up recurring tasks that repeat every month?",
        "Which {plan} plan feature lets me use time tracking? How do I turn it on?",
        "How can I see all tasks assigned to {teammates} in one view?",
        "How do I embed a board in our intranet page?",
        "What's the rate limit of the API and how do I paginate results?",
        "Quick question: how do I rename a workspace?",
        "Can I print the Gantt view? Couldn't find the option.",
        "How do we set up SAML with {idp}? Looking for step by step instructions.",
        "how to move a task to another project??",
    ],
    "feature_request": [
        "Feature request: please add dark mode.",
        "It would be great if the {feature} could export to {format}.",
        "Could you add an integration with {competitor}? We use both.",
        "Please add support for sub-tasks inside sub-tasks.",
        "We'd love a way to set task dependencies in the {feature}.",
        "Suggestion: let us pin comments to the top of a thread.",
        "Any plans for an offline mode in the {device} app?",
        "It would help a lot if admins could bulk-assign roles.",
        "Please consider adding a weekly summary email for managers.",
        "Idea: custom colours for labels would make the board easier to read.",
        "Would be nice to have a read-only link for the {feature}.",
        "Can you add two-way sync with Google Calendar? One way isn't enough for us.",
        "We need a Gantt view with critical path, is that on the roadmap?",
        "Please add more granular permissions for the {role} role.",
        "A public API endpoint for time entries would be really useful.",
        "Would love keyboard shortcuts for moving cards between columns.",
        "I wish the search could filter by custom fields.",
        "Please let us schedule messages in the team inbox.",
        "It would be really handy to have templates for recurring projects.",
        "Can you make the {feature} available in the {device} app too?",
        "Suggestion: show the total hours per project on the dashboard.",
        "Please support {format} import, not just CSV.",
        "Add an option to hide completed tasks by default, please.",
        "We'd pay extra for an audit log export to our SIEM.",
        "Request: allow more than one assignee per task.",
        "A burndown chart would make the {feature} much more useful for us.",
        "Please add emoji reactions to comments.",
        "Could the mobile app get widgets for today's tasks?",
        "Any chance of a Zapier trigger when a task is completed?",
        "Would be great to set a default view per project.",
    ],
    "cancellation": [
        "Please cancel my subscription at the end of this billing period.",
        "We are switching to {competitor}, please close our account.",
        "I want to delete my account and all my data.",
        "How do I cancel? I can't find the option anywhere in the settings.",
        "Please don't renew our {plan} plan next month.",
        "We're shutting down the project, cancel the workspace please.",
        "Downgrade us to the free plan and stop the paid subscription.",
        "Cancel the auto-renewal, we will not continue after {month}.",
        "I no longer need the service, please end my subscription.",
        "Our company decided to consolidate tools, we're leaving at the end of the month.",
        "Please close my account and confirm in writing that the data is deleted.",
        "Terminate our contract, notice attached as required.",
        "Stop charging me and cancel everything, I'm done.",
        "We'd like to cancel {n} of our seats and the add-on.",
        "Unsubscribe me from the paid plan, the free tier is enough.",
        "Can you pause our account for three months instead of cancelling?",
        "Too expensive for our small team, please cancel the {plan} plan.",
        "Please deactivate the workspace for {company}.",
        "I'd like to end my trial now and make sure I'm not charged.",
        "We're moving everything to {competitor} next week, how do we cancel and export?",
        "Cancel my account. Don't call me, just do it.",
        "Our contract ends in {month}, this is our notice of non-renewal.",
        "Please remove our organization and all users from your system.",
        "I signed up by accident, please cancel and delete the account.",
        "The tool doesn't fit our workflow, we'd like to cancel the subscription.",
        "What is the notice period to cancel the annual plan?",
        "Close the account of {company}, we sold the business.",
        "Need to cancel today before the renewal on {weekday}.",
        "I'm cancelling. Please confirm.",
        "Delete my account permanently please.",
    ],
    "security": [
        "We got an alert about a suspicious login from {country}, I think our account was hacked.",
        "I received a phishing email pretending to be from you asking for my password.",
        "Someone changed our admin email without our knowledge.",
        "I found an XSS vulnerability in the comment field, can I report it privately?",
        "Our API key was accidentally pushed to a public GitHub repo, please help us rotate it.",
        "There are tasks in our workspace that none of us created, could someone have access?",
        "A former employee still seems to have access to our data after we removed them.",
        "I can see another company's project in my search results, that looks like a data leak.",
        "Is my data affected by the breach reported in the news today?",
        "Unknown devices are listed in my active sessions.",
        "Our security team found that session tokens don't expire after logout.",
        "Someone is sending invoices from an address that looks like yours, is this a scam?",
        "We need to report unauthorized access to our workspace from an unknown IP.",
        "The password reset email came although I did not request it, several times tonight.",
        "A shared link exposes private files without login, is that intended?",
        "I think my account was compromised, there are messages I never sent.",
        "Responsible disclosure: SQL injection in the search endpoint.",
        "Our CISO needs your SOC 2 report and pen test summary urgently after an incident.",
        "An attacker is trying to brute force logins on our accounts, we see hundreds of failed attempts.",
        "My card details may have been exposed through your checkout page, I got fraudulent charges right after.",
        "Someone added a webhook to our workspace that sends data to an unknown server.",
        "Suspicious activity: all our files were downloaded at 3am by a user we don't know.",
        "A contractor's laptop with access to our account was stolen, please revoke everything.",
        "We suspect credential stuffing, several users report logins they didn't make.",
        "Your login page is served over HTTP on one subdomain, credentials could be intercepted.",
        "Please confirm whether the email about a security incident on your side is genuine.",
        "Our admin account shows 2FA disabled, none of us did that.",
        "Found a publicly accessible S3 bucket that seems to contain your customer exports.",
        "We received a ransom email claiming to have our data from your platform.",
        "CVE in the library your desktop app ships, please patch.",
    ],
    "positive_feedback": [
        "Just wanted to say the new {feature} is fantastic, great work!",
        "Thank you so much, your support team was amazing and fixed everything in minutes.",
        "Love the product, it has made our team so much more organised.",
        "Kudos to the team for the latest release, the {feature} is so much faster.",
        "Huge thanks to {name} from support, super helpful and patient.",
        "We've been using you for two years and it just keeps getting better. Thank you!",
        "The {device} app is brilliant, exactly what we needed.",
        "Shout-out to your docs, found everything I needed without opening a ticket. Well, except this one to say thanks!",
        "Our onboarding went so smoothly, really appreciate the help.",
        "Best project tool we've used, and we tried {competitor} before.",
        "Quick note to say the {feature} saved us hours this week.",
        "Your team went above and beyond, thanks for the quick turnaround.",
        "I love how simple the new {feature} is. Nice job!",
        "Everyone at {company} is really happy with the switch. Cheers!",
        "Great customer service, I got an answer in under five minutes.",
        "The new design looks gorgeous, well done to the whole team.",
        "Thanks for adding dark mode, my eyes are grateful 🙏",
        "Just renewed for another year, keep up the great work!",
        "Really impressed by how fast the {feature} has become.",
        "Thank you for listening to feedback, the {feature} change is perfect.",
        "Your product is the reason our team actually hits deadlines now. 🎉",
        "Appreciate the heads-up email about maintenance, very professional.",
        "10/10 support experience, thanks {name}!",
        "No question, just a thank you for a great tool.",
        "The webinar last week was super useful, thanks for organising it.",
        "Impressive work on the API docs, integration took us one afternoon.",
        "My whole team loves the new {feature} ❤️",
        "Thanks for the quick fix yesterday, everything works perfectly now.",
        "Just a happy customer saying hi and thanks!",
        "Absolutely love the mobile app, great job everyone.",
    ],
}

SUBJECTS: dict[str, list[str]] = {
    "billing": [
        "Charged twice",
        "Invoice question",
        "Wrong amount on invoice",
        "Refund request",
        "Billing",
        "Payment issue",
        "VAT on invoice",
        "Receipt missing",
        "Price increase?",
        "Unexpected charge",
        "Re: your invoice",
        "Card update",
        "INV-{inv}",
    ],
    "account_access": [
        "Can't log in",
        "Locked out",
        "2FA problem",
        "Password reset not working",
        "SSO login fails",
        "Login issue",
        "Access",
        "Cannot sign in",
        "help login",
        "Account locked",
    ],
    "bug": [
        "Bug",
        "{feature} broken",
        "Error on {feature}",
        "Crash",
        "Not working",
        "Something is wrong with the {feature}",
        "Export issue",
        "Sync broken",
        "App crashes",
        "Problem",
        "URGENT: {feature} down",
    ],
    "how_to": [
        "Question",
        "How to?",
        "Quick question",
        "How do I ...",
        "Help with {feature}",
        "Setting up {feature}",
        "Docs?",
        "Need guidance",
        "Question about {feature}",
    ],
    "feature_request": [
        "Feature request",
        "Suggestion",
        "Idea",
        "Request: {feature}",
        "Would be nice",
        "Product feedback",
        "Wishlist",
        "Roadmap question",
    ],
    "cancellation": [
        "Cancel subscription",
        "Cancellation",
        "Close account",
        "Delete account",
        "Not renewing",
        "Downgrade",
        "Cancel",
        "Ending our plan",
        "Termination notice",
    ],
    "security": [
        "Security concern",
        "Suspicious login",
        "Possible breach",
        "Phishing",
        "Vulnerability report",
        "URGENT security",
        "Unauthorized access",
        "Security",
    ],
    "positive_feedback": [
        "Thank you!",
        "Kudos",
        "Great job",
        "Love it",
        "Thanks",
        "Feedback",
        "You rock",
        "Happy customer",
        "Compliments to the team",
    ],
}

# ---- non-English phrasings (labelled by meaning) ------------------------------------------------

FOREIGN: dict[str, list[tuple[str, str]]] = {
    "billing": [
        ("de", "Hallo, ich wurde diesen Monat zweimal belastet, bitte erstatten Sie eine Zahlung."),
        (
            "es",
            "Hola, me han cobrado dos veces la suscripción este mes. ¿Pueden devolverme el dinero?",
        ),
        ("fr", "Bonjour, la facture de {month} est incorrecte, il manque notre numéro de TVA."),
        ("pt", "Olá, fui cobrado duas vezes no cartão de crédito, preciso de reembolso."),
        ("nl", "Hallo, de factuur klopt niet, we betalen te veel voor ons abonnement."),
    ],
    "account_access": [
        (
            "de",
            "Ich kann mich nicht mehr anmelden, der Link zum Zurücksetzen des Passworts kommt nicht an.",
        ),
        ("es", "No puedo iniciar sesión, mi cuenta está bloqueada después de varios intentos."),
        (
            "fr",
            "Je n'arrive plus à me connecter, le code de vérification à deux facteurs est refusé.",
        ),
        ("pt", "Não consigo entrar na minha conta, a senha não é aceita."),
    ],
    "bug": [
        (
            "de",
            "Der Export nach {format} funktioniert nicht, die Datei ist leer. Fehler seit dem Update.",
        ),
        (
            "es",
            "La aplicación se cierra cada vez que abro el panel, es un error desde la última actualización.",
        ),
        ("fr", "Le tableau de bord affiche une erreur 500 depuis ce matin, rien ne se charge."),
        ("pt", "O aplicativo trava quando tento enviar um arquivo, aparece um erro."),
    ],
    "how_to": [
        ("de", "Wie kann ich meine Berichte als {format} exportieren? Ich finde die Option nicht."),
        ("es", "¿Cómo puedo invitar a mi equipo sin darles permisos de administrador?"),
        ("fr", "Comment est-ce que je peux archiver un projet sans le supprimer ?"),
        ("pt", "Como faço para configurar notificações por e-mail apenas para menções?"),
    ],
    "feature_request": [
        ("de", "Es wäre toll, wenn ihr einen Dunkelmodus anbieten könntet."),
        ("es", "Sería genial tener una integración con {competitor}. ¿Está en sus planes?"),
        ("fr", "Ce serait super d'avoir un mode hors ligne dans l'application mobile."),
    ],
    "cancellation": [
        ("de", "Bitte kündigen Sie unser Abonnement zum Ende des Monats."),
        ("es", "Quiero cancelar mi suscripción y eliminar mi cuenta."),
        ("fr", "Je souhaite résilier mon abonnement, merci de confirmer."),
        ("pt", "Por favor, cancelem a minha assinatura no fim deste mês."),
    ],
    "security": [
        (
            "de",
            "Wir haben eine verdächtige Anmeldung aus {country} bemerkt, ich glaube unser Konto wurde gehackt.",
        ),
        ("es", "Recibí un correo de phishing que se hace pasar por ustedes y pide mi contraseña."),
        (
            "fr",
            "Quelqu'un a accédé à notre compte sans autorisation, nous pensons à une fuite de données.",
        ),
    ],
    "positive_feedback": [
        ("de", "Vielen Dank, euer Support ist großartig und hat alles sofort gelöst!"),
        ("es", "¡Muchas gracias! Me encanta la nueva versión, excelente trabajo."),
        ("fr", "Merci beaucoup, votre équipe est formidable, bravo pour la nouvelle version !"),
        ("pt", "Muito obrigado, o suporte de vocês é excelente!"),
    ],
}
FOREIGN_FRAME = {
    "de": ("Hallo,", "Viele Grüße"),
    "es": ("Hola,", "Saludos"),
    "fr": ("Bonjour,", "Cordialement"),
    "pt": ("Olá,", "Obrigado"),
    "nl": ("Hallo,", "Met vriendelijke groet"),
}

# ---- hard cases ----------------------------------------------------------------------------------

# Sarcasm: the surface is praise, the label is the area complained about.
SARCASM: dict[str, list[str]] = {
    "billing": [
        "Great job charging me twice, you geniuses. I love paying for software I can't log into.",
        "Wow, {amount} taken from my card twice. Fantastic service, truly.",
        "Thanks a lot for the surprise {amount} renewal charge, exactly what I wanted for my birthday.",
        "Oh great, another invoice with the wrong amount. Love it.",
        "Brilliant, you raised the price again without telling anyone. Well done.",
        "So nice of you to keep billing me for seats I removed months ago. Really appreciate it.",
        "Amazing how the refund takes three weeks but the charge takes three seconds.",
        "Love how I pay for {plan} and get billed for Enterprise. Genius pricing.",
        "Perfect, charged again after cancelling. Wonderful.",
        "Nothing says customer love like a {amount} charge I never agreed to. 🙄",
    ],
    "account_access": [
        "Oh wonderful, locked out of my account again. Best way to start a Monday.",
        "Love being asked for a 2FA code that never arrives. Great design.",
        "Fantastic, the password reset link expires before it reaches my inbox. Bravo.",
        "Thanks so much for logging our whole team out right before the deadline. Genius.",
        "Really enjoying the login loop, fourth time today, such fun.",
        "Great, SSO is broken again and nobody can get in. Just perfect.",
        "So glad I can't sign in to the tool we pay for. Keep up the great work.",
    ],
    "bug": [
        "Oh great, the {feature} crashed again. Really loving this update.",
        "Wonderful, the export gives me an empty file for the third time. Amazing work.",
        "Thanks for the new release that broke the {feature}, truly a masterpiece.",
        "Brilliant update, now nothing loads at all. Kudos.",
        "Love how the app freezes every time I open the board. Great job, team.",
        "Just perfect, notifications arrive five times each. Awesome.",
        "Fantastic, {error} again. You guys are geniuses.",
        "Nice to see the sync still broken after your 'fix'. Well done 👏",
    ],
    "cancellation": [
        "Great, another price hike. Thanks for making the decision to cancel so easy.",
        "Wonderful service, really. Please cancel my account, I'll enjoy {competitor} instead.",
        "Love how hard you make it to cancel. Genius. Cancel it now.",
        "Thanks for nothing, close my account.",
    ],
    "how_to": [
        "Love how the docs explain everything except how to actually export a report. How do I do it?",
        "Great, another redesign and now I can't find where the settings are. Where did you move them?",
    ],
}
# Praise wrapped around a complaint.
PRAISE_WRAP: list[tuple[str, str]] = [
    (
        "billing",
        "I really love your product and the team has been great, but I was charged {amount} twice this month and need one refunded.",
    ),
    (
        "billing",
        "Big fan of the app! However our last invoice is wrong again, we were billed for {n} extra seats.",
    ),
    (
        "bug",
        "Your tool is amazing and we use it every day. Unfortunately the {feature} has been crashing with {error} since the update.",
    ),
    (
        "bug",
        "Love the new design, great work! Sadly the {device} app now freezes every time I open a project.",
    ),
    (
        "account_access",
        "You have the best support team, honestly. That said, I've been locked out of my account since {weekday} and the reset email never comes.",
    ),
    (
        "account_access",
        "Great product overall. But the 2FA codes aren't accepted anymore and I can't log in.",
    ),
    (
        "cancellation",
        "We loved working with you and the product is excellent, but budget cuts mean we have to cancel our subscription at the end of {month}.",
    ),
    (
        "cancellation",
        "Thanks for the great years, you built a lovely tool. We're moving to {competitor} though, please close our account.",
    ),
    (
        "security",
        "Fantastic product, we recommend it everywhere. However we just noticed a login from {country} that none of us made and we think the account is compromised.",
    ),
    (
        "feature_request",
        "Love the app, it's fantastic! One thing missing: please add an export to {format} for the {feature}.",
    ),
    (
        "how_to",
        "Amazing tool and great docs! I just can't figure out how to set up recurring tasks, could you explain?",
    ),
    ("billing", "Awesome service as always 😊 but why was I billed {amount} after downgrading?"),
]
# A complaint wrapped in thanks.
THANKS_WRAP: list[tuple[str, str]] = [
    (
        "bug",
        "Thanks for the quick reply yesterday. Unfortunately the {feature} still shows {error}, the fix didn't work.",
    ),
    (
        "account_access",
        "Thank you for resetting my password. Sadly I still can't log in, it says invalid credentials.",
    ),
    (
        "billing",
        "Thanks for your help so far! I still haven't received the refund of {amount} though, it's been two weeks.",
    ),
    (
        "bug",
        "Appreciate the effort, really. But the export is still broken and our month-end report is due.",
    ),
    (
        "billing",
        "Thanks for getting back to me. The invoice you resent still has the wrong company name on it.",
    ),
    (
        "account_access",
        "Many thanks for the help. The SSO with {idp} still fails for half of our users though.",
    ),
    (
        "cancellation",
        "Thank you for the offer of a discount, but we've decided to cancel anyway. Please proceed.",
    ),
    (
        "bug",
        "Thanks for the update! The sync is still not working for us, events are missing again.",
    ),
    (
        "security",
        "Thank you for the quick response. We still see logins from {country} after resetting all passwords, please escalate.",
    ),
    (
        "how_to",
        "Thanks for the link to the docs, but I still don't understand how to connect the Slack integration to a private channel. Can you walk me through it?",
    ),
]
# Real praise that mentions a (solved) problem: positive_feedback, though it has complaint words.
PRAISE_WITH_PROBLEM: list[str] = [
    "I was locked out before a big demo and your team got me back in within five minutes. Amazing, thank you!",
    "The export was broken last week but you fixed it in a day. Really impressed, thanks!",
    "Got charged twice by mistake and the refund came the same day. Great support, thank you!",
    "Had an error with the {feature} and {name} solved it over chat right away. Kudos!",
    "Your fix for the sync bug works perfectly. Thanks for the fast turnaround!",
    "Thanks for sorting out the invoice so quickly, great service.",
]
# Two areas in one ticket: (urgent tag, other tag) phrasings joined.
ALSO = [
    "Also, unrelated:",
    "PS:",
    "Oh and one more thing -",
    "Separately,",
    "Side note:",
    "While I have you:",
]

# ---- frames, tone and noise ---------------------------------------------------------------------

GREETINGS = [
    "Hi,",
    "Hello,",
    "Hi team,",
    "Hey,",
    "Dear Support,",
    "Hello support team,",
    "Hi there,",
    "Good morning,",
    "Hey guys,",
    "To whom it may concern,",
    "",
    "",
    "Hi {first},",
]
OPENERS = [
    "",
    "",
    "",
    "Hope you're well.",
    "I hope you can help.",
    "Not sure who to ask, so writing here.",
    "We use your app at {company}.",
    "I'm the {role} of our workspace.",
    "Sorry to bother you again.",
    "Long-time user here.",
    "First time writing in.",
]
POLITE_CLOSE = [
    "Thanks in advance!",
    "Thank you for your help.",
    "Many thanks,",
    "Appreciate it.",
    "Thanks!",
    "Kind regards,",
    "Best,",
    "Cheers,",
    "Have a nice day!",
]
ANGRY_ADD = [
    "This is unacceptable.",
    "I've been waiting for days!!",
    "Fix this NOW.",
    "Seriously, this is the third time I write.",
    "Very disappointed.",
    "We pay good money for this.",
    "Why is nobody answering???",
    "Ridiculous.",
    "I expect an answer today.",
]
TERSE = ["pls help", "asap", "thx", "urgent", "??", ""]
DETAILS = [
    "Workspace: {company}.",
    "Account email is {email}.",
    "Ticket ref #{inv}.",
    "Screenshot attached.",
    "I tried on {browser} and on {device}, same thing.",
    "This started on {weekday}.",
    "Order number ORD-{inv}.",
    "We have {n} users affected.",
    "Link: https://app.example.com/w/{slug}/settings",
    "Happened around 14:{mm} CET.",
]
SIGNATURES = [
    "{first} {last}\n{role_title} | {company}\n+1 555 01{mm} {mm}{mm}",
    "--\n{first} {last}\n{company}\nwww.{slug}.example",
    "Sent from my iPhone",
    "{first}",
    "Best regards,\n{first} {last}",
    "{first} {last}\n{company}\n\nCONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended solely for the addressee.",
    "Get Outlook for Android",
    "-- \n{first} | {role_title}\nPlease consider the environment before printing this email.",
]
ROLE_TITLES = [
    "Office Manager",
    "CTO",
    "Head of Operations",
    "Founder",
    "IT Admin",
    "Project Lead",
    "Finance",
    "Customer Success",
    "Ops",
]
SUPPORT_QUOTES = [
    "Thanks for reaching out! Could you tell us which browser you are using and send a screenshot?",
    "Thanks for contacting us. We've passed this to the right team and will get back to you shortly.",
    "Hi! Could you confirm the email address on the account so we can look into it?",
    "We're sorry for the trouble. Can you try clearing your cache and let us know if it helps?",
]
MISSPELL = {
    "receive": "recieve",
    "definitely": "definately",
    "cancel": "cancle",
    "password": "pasword",
    "invoice": "invocie",
    "account": "acount",
    "subscription": "subscribtion",
    "separately": "seperately",
    "because": "becuase",
    "the": "teh",
    "working": "workign",
    "export": "exprot",
    "charged": "chargd",
    "login": "loggin",
    "access": "acess",
    "feature": "feture",
    "please": "plz",
    "thanks": "thx",
}


@dataclass
class Ticket:
    id: str
    subject: str
    body: str
    created_at: str
    requester: str
    tag: str
    hard: str
    lang: str
    structure: str
    template: str

    @property
    def family(self) -> str:
        return self.template


class Gen:
    """All randomness goes through one seeded Random: same seed, same file."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def pick(self, items: list):
        return items[self.r.randrange(len(items))]

    def fill(self, text: str, ctx: dict[str, str]) -> str:
        def slot(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in ctx:
                return ctx[key]
            if key in SLOTS:
                return self.pick(SLOTS[key])
            return match.group(0)

        return re.sub(r"\{(\w+)\}", slot, text)

    def person(self) -> dict[str, str]:
        first, last, company = self.pick(FIRST), self.pick(LAST), self.pick(COMPANY)
        slug = re.sub(r"[^a-z]", "", company.lower())[:12]
        ascii_first = first.lower().translate(str.maketrans("üéáí", "ueai"))
        return {
            "first": first,
            "last": last,
            "company": company,
            "slug": slug,
            "email": f"{ascii_first}.{last.lower().replace(chr(39), '')}@{slug}.example",
            "role_title": self.pick(ROLE_TITLES),
            "mm": f"{self.r.randrange(10, 60)}",
            "inv": f"{self.r.randrange(10000, 99999)}",
            "name": self.pick(["Sam", "Priya", "Marco", "Lena", "Tom", "Aisha"]),
        }

    # -- noise -------------------------------------------------------------------------------------

    def typos(self, text: str, rate: float) -> str:
        words = text.split(" ")
        out = []
        for word in words:
            low = word.lower().strip(".,!?")
            if low in MISSPELL and self.r.random() < 0.5:
                word = word.lower().replace(low, MISSPELL[low])
            elif len(word) > 4 and self.r.random() < rate:
                i = self.r.randrange(1, len(word) - 2)
                op = self.r.randrange(3)
                if op == 0:
                    word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                elif op == 1:
                    word = word[:i] + word[i + 1 :]
                else:
                    word = word[:i] + word[i] + word[i:]
            out.append(word)
        return " ".join(out)

    def style(self, text: str, tone: str) -> str:
        """Spelling and casing noise: lower-case, no apostrophes, typos, shouting."""
        roll = self.r.random()
        if roll < 0.25:
            text = self.typos(text, 0.08)
        elif roll < 0.35:
            text = text.lower().replace("'", "")
        elif roll < 0.40:
            text = self.typos(text.lower(), 0.12).rstrip(".")
        if tone == "angry" and self.r.random() < 0.3:
            words = text.split(" ")
            i = self.r.randrange(len(words))
            words[i] = words[i].upper()
            text = " ".join(words)
        return text


def core_pool(items: list, split: str) -> list:
    """Every fifth phrasing is held out for the test file."""
    if split == "test":
        return items
    return [item for i, item in enumerate(items) if i % 5 != 4]


def make_ticket(g: Gen, number: int, tag: str, split: str, hard: str) -> Ticket:
    p = g.person()
    ctx = dict(p)
    lang = "en"
    tone = g.pick(["neutral"] * 5 + ["polite"] * 3 + ["angry"] * 2 + ["terse"] * 2)
    template = ""
    subject_tag = tag
    extra_subject = ""
    if hard == "sarcasm":
        template = g.pick(core_pool(SARCASM[tag], split))
        core = g.fill(template, ctx)
        tone = g.pick(["neutral", "angry"])
        extra_subject = g.pick(["Great job", "Thanks a lot", "Wow", "Fantastic", "Just great", ""])
    elif hard == "praise_wrapped_complaint":
        _, template = g.pick(core_pool([x for x in PRAISE_WRAP if x[0] == tag], split))
        core = g.fill(template, ctx)
        extra_subject = g.pick(["Love the app, but...", "Feedback", "Small problem", ""])
    elif hard == "complaint_wrapped_thanks":
        _, template = g.pick(core_pool([x for x in THANKS_WRAP if x[0] == tag], split))
        core = g.fill(template, ctx)
        tone = "polite"
        extra_subject = g.pick(["Re: Thanks", "Thank you, but", "Follow-up", "Re: your reply"])
    elif hard == "praise_mentions_problem":
        template = g.pick(core_pool(PRAISE_WITH_PROBLEM, split))
        core = g.fill(template, ctx)
        tone = "polite"
    elif hard == "two_areas":
        others = [
            t for t in URGENCY if URGENCY.index(t) > URGENCY.index(tag) and t != "positive_feedback"
        ]
        other = g.pick(others or ["how_to"])
        template = g.pick(core_pool(CORE[tag], split))
        minor = g.fill(g.pick(CORE[other]), ctx)
        main = g.fill(template, ctx)
        if g.r.random() < 0.5:
            core = f"{main} {g.pick(ALSO)} {minor[0].lower() + minor[1:]}"
        else:
            core = f"1) {main}\n2) {minor}"
        subject_tag = g.pick([tag, other])
    elif hard == "non_english":
        lang, template = g.pick(FOREIGN[tag])
        core = g.fill(template, ctx)
    else:
        template = g.pick(core_pool(CORE[tag], split))
        core = g.fill(template, ctx)

    if tag == "positive_feedback" and hard not in {"sarcasm"}:
        tone = g.pick(["neutral", "polite", "terse"])  # praise is not written in anger
    if lang == "en":
        core = g.style(core, tone)
    structure = g.pick(
        ["one_liner"] * 3 + ["email"] * 6 + ["forwarded"] + ["reply_thread"] * 2 + ["chat"] * 2
    )
    if lang != "en":
        hello, bye = FOREIGN_FRAME[lang]
        body = f"{hello}\n\n{core}\n\n{bye}\n{p['first']}"
        structure = "email"
    elif structure == "one_liner":
        body = core if g.r.random() < 0.8 else ""
    elif structure == "chat":
        body = f"{core} {g.pick(TERSE)}".strip()
    else:
        body = compose_email(g, core, tone, ctx)
        if structure == "forwarded":
            body = forward(g, body, ctx)
        elif structure == "reply_thread":
            body = reply(g, body, ctx)

    subj_source = SUBJECTS[subject_tag]
    if lang != "en":
        subject = {
            "de": "Anfrage",
            "es": "Consulta",
            "fr": "Demande",
            "pt": "Pedido",
            "nl": "Vraag",
        }[lang]
    elif structure == "one_liner" and not body:
        subject = core  # the whole ticket is its subject line
    elif extra_subject or hard in {"sarcasm", "complaint_wrapped_thanks"}:
        subject = extra_subject
    else:
        subject = g.fill(g.pick(subj_source), ctx) if g.r.random() < 0.85 else ""
    if structure == "forwarded" and subject:
        subject = f"Fwd: {subject}"
    elif structure == "reply_thread" and subject:
        subject = f"Re: {subject}"
    day = g.r.randrange(1, 28)
    month = g.r.randrange(1, 12)
    created = (
        f"2026-{month:02d}-{day:02d}T{g.r.randrange(0, 24):02d}:{g.r.randrange(0, 60):02d}:00Z"
    )
    requester = p["email"] if g.r.random() < 0.9 else ""
    return Ticket(
        id=f"T{number:05d}",
        subject=subject,
        body=body,
        created_at=created,
        requester=requester,
        tag=tag,
        hard=hard if hard not in {"", "non_english"} else "",
        lang=lang,
        structure=structure,
        template=f"{hard or 'plain'}/{tag}/{hashlib.sha256(template.encode()).hexdigest()[:8]}",
    )


def compose_email(g: Gen, core: str, tone: str, ctx: dict[str, str]) -> str:
    parts = [g.fill(g.pick(GREETINGS), ctx)]
    opener = g.fill(g.pick(OPENERS), ctx)
    middle = [opener] if opener else []
    middle.append(core)
    for _ in range(g.r.choice([0, 0, 1, 1, 2])):
        middle.append(g.fill(g.pick(DETAILS), ctx))
    if tone == "angry":
        middle.append(g.pick(ANGRY_ADD))
        if g.r.random() < 0.4:
            middle.append(g.pick(ANGRY_ADD))
    parts.append(" ".join(middle))
    if tone == "polite":
        parts.append(g.pick(POLITE_CLOSE))
    elif g.r.random() < 0.4:
        parts.append(g.pick(POLITE_CLOSE[:5]))
    parts.append(g.fill(g.pick(SIGNATURES), ctx))
    return "\n\n".join(p for p in parts if p)


def forward(g: Gen, body: str, ctx: dict[str, str]) -> str:
    note = g.pick(
        [
            "FYI - customer called about this, forwarding.",
            "Forwarding from the sales inbox, can someone take a look?",
            "See below.",
            "Customer email below, please handle.",
            "",
        ]
    )
    header = (
        "---------- Forwarded message ---------\n"
        f"From: {ctx['first']} {ctx['last']} <{ctx['email']}>\n"
        f"Date: {g.pick(SLOTS['weekday'])}, {g.r.randrange(1, 28)} {g.pick(SLOTS['month'])} 2026\n"
        "To: support@example.com\n"
    )
    return f"{note}\n\n{header}\n{body}".strip()


def reply(g: Gen, body: str, ctx: dict[str, str]) -> str:
    quote = g.pick(SUPPORT_QUOTES)
    wrote = f"On {g.pick(SLOTS['weekday'])}, Support Team <support@example.com> wrote:"
    quoted = "\n".join(
        "> " + line for line in f"Hi {ctx['first']},\n\n{quote}\n\nBest,\nSupport".split("\n")
    )
    return f"{body}\n\n{wrote}\n{quoted}"


HARD_KINDS: list[tuple[str, Callable[[str], bool], float]] = [
    ("sarcasm", lambda t: t in SARCASM, 0.34),
    ("praise_wrapped_complaint", lambda t: any(x[0] == t for x in PRAISE_WRAP), 0.18),
    ("complaint_wrapped_thanks", lambda t: any(x[0] == t for x in THANKS_WRAP), 0.16),
    ("praise_mentions_problem", lambda t: t == "positive_feedback", 0.07),
    ("two_areas", lambda t: t not in {"positive_feedback", "feature_request"}, 0.25),
]


def choose(g: Gen, shares: dict[str, float]) -> str:
    roll = g.r.random() * sum(shares.values())
    for key, share in shares.items():
        roll -= share
        if roll <= 0:
            return key
    return key


def generate(seed: int = SEED, total: int = TOTAL) -> tuple[list[Ticket], list[Ticket]]:
    """(train, test): the split is decided before each ticket is written."""
    g = Gen(seed)
    train: list[Ticket] = []
    test: list[Ticket] = []
    for number in range(1, total + 1):
        split = "test" if g.r.random() < TEST_SHARE else "train"
        roll = g.r.random()
        if roll < HARD_SHARE:
            kind = choose(g, {k: s for k, _, s in HARD_KINDS})
            fits = next(f for k, f, _ in HARD_KINDS if k == kind)
            tag = choose(g, {t: s for t, s in TAG_SHARE.items() if fits(t)})
        elif roll < HARD_SHARE + 0.04:
            kind, tag = "non_english", choose(g, TAG_SHARE)
        else:
            kind, tag = "", choose(g, TAG_SHARE)
        ticket = make_ticket(g, number, tag, split, kind)
        (test if split == "test" else train).append(ticket)
    return train, test


# `family` names the core phrasing a ticket was built from, so model selection can
# cross-validate by phrasing (GroupKFold) instead of rewarding memorised templates.
FIELDS = [
    "id",
    "subject",
    "body",
    "created_at",
    "requester",
    "tag",
    "hard",
    "lang",
    "structure",
    "family",
]


def write(path: Path, tickets: list[Ticket]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for t in tickets:
            writer.writerow([getattr(t, name) for name in FIELDS])


def main() -> None:
    train, test = generate()
    write(HERE / "tickets_train.csv", train)
    write(HERE / "tickets_test.csv", test)
    hard = sum(1 for t in train + test if t.hard)
    print(
        f"train {len(train)}, test {len(test)}, hard cases {hard} "
        f"(test {sum(1 for t in test if t.hard)})"
    )


if __name__ == "__main__":
    main()
